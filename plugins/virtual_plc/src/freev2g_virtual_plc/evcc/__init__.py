"""EVCC (EV role) of the virtual link."""
