"""Data files shipped with the control center (the default network)."""
