"""freev2g-whitebeet: host driver, transports and module emulator for the WHITE beet HCI."""
__version__ = "0.1.0"
