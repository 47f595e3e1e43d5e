"""Named random streams: one reproducible generator per (seed, purpose) pair.

Streams are keyed by stable hashes of names (CRC-32, never Python's salted
``hash``), so adding a site or a new purpose never shifts another stream.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["name_key", "stream"]


def name_key(name: str | float) -> int:
    """A stable 32-bit key for a name (or an int/float, e.g. a timestamp)."""
    if isinstance(name, int):
        return name % (1 << 32)
    return zlib.crc32(repr(name).encode() if isinstance(name, float) else name.encode())


def stream(seed: int, *names: str | float) -> np.random.Generator:
    """The generator for ``seed`` and a path of names.

    Parameters
    ----------
    seed : int
        The run's seed; any integer (negative seeds are folded into 64 bits).
    *names : str, int or float
        The purpose, e.g. ``("cerro-pachon", "clouds")``.

    Examples
    --------
    >>> a = stream(1, "la-palma", "seeing").normal()
    >>> a == stream(1, "la-palma", "seeing").normal()
    True
    """
    keys = tuple(name_key(n) for n in names)
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(entropy=int(seed) % (1 << 64), spawn_key=keys)))
