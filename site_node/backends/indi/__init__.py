"""The INDI instrument backend: real hardware (or INDI's simulators) through an INDI server.

Modules
-------
``config``   :class:`IndiConfig`, the ``[indi]`` table of a site's configuration.
``backend``  :class:`IndiBackend`, the synchronous :class:`InstrumentBackend`, and
             :func:`create_backend` ``(site, options)``, the site node's factory.
``link``     one connection to the server: indipyclient on its own event loop in a thread.
``steps``    connect, slew, filter, expose, read telemetry (run on the link's loop).
``mapping``  INDI values -> Conditions, camera state, FITS frames and headers.
``coords``   ICRS <-> JNow (INDI's ``EQUATORIAL_EOD_COORD``) with ERFA.

See ``docs/indi.md`` for running a site on real hardware.
"""

from site_node.backends.indi.backend import IndiBackend, create_backend
from site_node.backends.indi.config import IndiConfig

__all__ = ["IndiBackend", "IndiConfig", "create_backend"]
