"""OpenAstro's simulator: sites, weather, sky, telescopes and exposure outcomes.

A deterministic library (no I/O, no global random state, nothing downloaded)
that drives the demo night, the site node's simulated instrument backend and
the reinforcement-learning environment. Every random stream is derived from one
integer seed and a name (site, purpose), so the same seed gives the same night
and adding a site does not change the others.

Main entry points
-----------------
:class:`SimulatedNetwork` ``(network, seed, start, end)``
    One :class:`SimulatedSite` per site (``sim[name]``, ``links()``,
    ``site_of(telescope)``). ``conditions(t)`` gives every site's
    :class:`~control_center.plugin_api.types.Conditions`; ``condition_changes()``
    the reportable changes of all sites in time order; ``observe(telescope, ...)``
    runs an exposure on the right site.
:class:`SimulatedSite` ``(site, seed, start, end)``
    ``conditions(t)``, ``condition_changes()``, ``altaz(ra, dec, t)``,
    ``sky_brightness(ra, dec, t, filter)`` and ``observe(telescope_name,
    target_ra_deg, target_dec_deg, v_mag, filter, exposure_s, priority, start,
    pointing, current_filter)`` returning an :class:`Observation` (``start``,
    ``exposure_start``, ``end``, alt-az, conditions and an :class:`Outcome`).
    Each observation's luck depends only on (seed, site, telescope, start).
:func:`demo_requests` ``(seed, network, *, n_science=120, n_survey=60, night=None)``
    A night's program book as :class:`~control_center.plugin_api.types.QueuedRequest`
    (with ``v_mag``), ids like ``"galaxies-NGC1300"``.

:func:`magnitude_at` ``(seed, name, time, filter="V")``
    The truth of a programme star (a generated variable star ``VAR-nnnn``):
    its magnitude at ``time``; :func:`variability_of` gives its whole
    :class:`Variability` (kind, period, amplitude, epoch). Frames of a site node
    draw the star at that magnitude.

Times are timezone-aware datetimes (naive ones are read as UTC) or POSIX seconds.

Building blocks, one module each
--------------------------------
``weather``    :class:`WeatherModel`: clouds (two-state Markov), seeing (log-normal
               AR(1)), humidity, wind, dew, zenith sky; dome open/closed.
``sky``        Krisciunas & Schaefer moonlight, twilight, extinction per band.
``catalogue``  OpenNGC objects (via ``pyongc``), Landolt fields, HEALPix survey
               fields, generated variable stars and transient hosts.
``programs``   the demo science programs.
``telescope``  slew, filter change, readout, expected durations.
``outcome``    CCD equation, site effects, success and science value.
``horizon``    fast alt-az and sidereal time (~0.01 deg, microseconds per target).
``ephemeris``  Sun and Moon on a cached grid (astropy once per site and span).
``bands``      per-filter wavelengths, extinction, sky colours, throughput.
``variability`` light curves of the programme stars (periodic or constant).
``starfield``  the sky's stars (generated per HEALPix pixel, the same for every run)
               and OpenNGC galaxies in a field: :func:`stars_in_field`,
               :func:`galaxies_in_field`.
``frames``     FITS frames with WCS, full headers and truth tables:
               :func:`render_frame`, :func:`frame_for_observation`, anomalies
               (:data:`ARTEFACT_KINDS`) and transients; built on ``psf``
               (Moffat/donut stamps, Sersic galaxies), ``detector`` (camera,
               flat field, noise), ``artefacts`` and ``frame_hdus``.

Example
-------
>>> from datetime import datetime, UTC
>>> from control_center.network import load_network
>>> from simulator import SimulatedNetwork, demo_requests
>>> network = load_network()
>>> start = datetime(2026, 3, 21, 18, tzinfo=UTC)
>>> sim = SimulatedNetwork(network, seed=1, start=start, end=datetime(2026, 3, 22, 4, tzinfo=UTC))
>>> request = demo_requests(1, network)[0]
>>> obs = sim.observe("palma-1m", request.ra_deg, request.dec_deg, request.v_mag,
...                   request.filters[0], request.exposure_s, request.priority,
...                   datetime(2026, 3, 21, 23, tzinfo=UTC), None, None)
>>> obs.end > obs.exposure_start > obs.start
True
"""

from simulator.catalogue import Target
from simulator.frames import ARTEFACT_KINDS, Transient, frame_for_observation, render_frame
from simulator.outcome import Outcome
from simulator.programs import demo_requests
from simulator.site import Observation, SimulatedNetwork, SimulatedSite
from simulator.starfield import GalaxyTable, StarTable, galaxies_in_field, stars_in_field
from simulator.variability import Variability, magnitude_at, programme_star, variability_of
from simulator.weather import WeatherModel

__all__ = [
    "ARTEFACT_KINDS",
    "GalaxyTable",
    "Observation",
    "Outcome",
    "SimulatedNetwork",
    "SimulatedSite",
    "StarTable",
    "Target",
    "Transient",
    "Variability",
    "WeatherModel",
    "demo_requests",
    "frame_for_observation",
    "galaxies_in_field",
    "magnitude_at",
    "programme_star",
    "render_frame",
    "stars_in_field",
    "variability_of",
]
