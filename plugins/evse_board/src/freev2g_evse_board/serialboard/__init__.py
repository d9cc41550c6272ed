"""The "serial" board: UART line protocol (protocol.py, PROTOCOL.md), host link (link.py),
Protocol drivers (driver.py) and a pty board emulator backed by the sim model (emulator.py)."""
