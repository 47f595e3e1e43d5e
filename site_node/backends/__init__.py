"""Instrument backends: what actually moves a telescope and takes a frame.

:mod:`site_node.backends.base` defines the interface; ``simulated`` renders
frames from the simulator, ``indi`` drives real hardware through an INDI server.
"""
