"""freev2g plugin module of freev2g-v2g-wire (links are registered in a later step)."""
from __future__ import annotations
