"""OpenAstro's built-in plugins.

Each is registered through the ``openastro.plugins`` entry-point group and uses
only :mod:`control_center.plugin_api`, exactly as a third-party plugin would.
"""
