"""Protocol buffers of the ``openastro`` package (generated stubs live in versioned subpackages)."""
