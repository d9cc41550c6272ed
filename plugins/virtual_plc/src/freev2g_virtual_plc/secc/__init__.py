"""SECC (EVSE role) of the virtual link."""
