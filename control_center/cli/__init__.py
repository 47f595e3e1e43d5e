"""The ``openastro`` command line."""
