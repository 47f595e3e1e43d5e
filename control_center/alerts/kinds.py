"""What an alert is about (GRB, gravitational wave, neutrino...), from the clues it carries."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["kind_from_clues", "kind_from_packet_type"]

_PACKET_TYPES: dict[str, tuple[range | tuple[int, ...], ...]] = {
    # GCN Classic packet types (gcn.gsfc.nasa.gov/sock_pkt_def_doc.html)
    "grb": ((53, 54, 55),                 # INTEGRAL wake-up, refined, offline
            (61, 62, 65, 67, 81, 84, 97),  # Swift BAT position, XRT, UVOT, quick-look
            range(100, 103),              # AGILE
            range(110, 116),              # Fermi GBM alert, flight, ground, final positions
            (120, 121, 127, 128),         # Fermi LAT
            range(192, 196)),             # SVOM
    "gw": (range(150, 153), (163, 164)),  # LVK preliminary, initial, update; counterpart, retr.
    "neutrino": ((157, 158, 159, 169, 171, 173, 174, 176),),  # AMON, IceCube gold/bronze/cascade
    "xray": ((134, 135, 136, 180, 181),),  # MAXI, Einstein Probe-like
}

_WORDS = (
    ("gw", ("gwnet", "lvc", "ligo", "virgo", "kagra", "igwn", "gravitational")),
    ("neutrino", ("icecube", "amon", "neutrino", "km3net", "antares")),
    ("grb", ("grb", "swift", "fermi", "gbm", "integral", "svom", "agile", "konus",
             "process.variation.burst;em.gamma", "em.gamma")),
    ("xray", ("einstein_probe", "einstein-probe", "wxt", "fxt", "maxi", "em.x-ray")),
    ("optical", ("asassn", "ztf", "gaia", "tns", "atlas", "goto", "em.opt", "optical")),
)


def kind_from_packet_type(packet_type: str | None) -> str | None:
    """The kind of a GCN Classic ``Packet_Type``, or None when unknown."""
    try:
        number = int(str(packet_type).strip())
    except (TypeError, ValueError):
        return None
    for kind, groups in _PACKET_TYPES.items():
        if any(number in group for group in groups):
            return kind
    return None


def kind_from_clues(clues: Iterable[str]) -> str:
    """The first kind whose words appear in any clue (ids, concepts, schema URLs...).

    Examples
    --------
    >>> kind_from_clues(["ivo://nasa.gsfc.gcn/AMON#ICECUBE_GOLD_Event"])
    'neutrino'
    >>> kind_from_clues(["nothing"])
    'unknown'
    """
    text = " ".join(c.lower() for c in clues if c)
    for kind, words in _WORDS:
        if any(w in text for w in words):
            return kind
    return "unknown"
