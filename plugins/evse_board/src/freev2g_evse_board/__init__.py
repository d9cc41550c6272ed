"""freev2g board drivers: the simulated board "sim" and the serial (UART) board "serial".

`freev2g_evse_board.pilot` holds the IEC 61851-1 pure functions (duty <-> current, CP levels,
PP cable coding); `freev2g_evse_board.sim` the one electrical model of both cable ends.
"""
__version__ = "0.1.0"
