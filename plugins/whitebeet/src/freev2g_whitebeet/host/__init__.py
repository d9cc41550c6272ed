"""Host driver: the module seen through freev2g's link and board contracts."""
