"""Example third-party plugin: a power meter driver for a fixed load, and a CLI command."""
