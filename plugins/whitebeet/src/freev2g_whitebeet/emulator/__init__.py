"""Module emulator: the module side of the HCI (whitebeet-hci.md 8)."""
