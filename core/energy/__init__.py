"""Energy management for a station with several EVSEs (issue #16): allocator.py shares a grid
connection limit, manager.py applies the shares to each EVSE's schedule."""
