"""References of the fields: one image per (site, telescope, filter, rounded pointing).

:class:`ReferenceStore` keeps them in memory and, optionally, as FITS files in a
directory (written atomically), so a restarted node or a later
``openastro analyze --reference DIR`` run finds them. The first good frame of a
field becomes its reference (the pipeline decides what "good" means).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Reference", "ReferenceStore"]


@dataclass(frozen=True)
class Reference:
    """A reference image of a field: background-subtracted pixels and what they need.

    ``saturation`` is the saturation level above the sky (ADU), or None.
    """

    image: np.ndarray
    header: Any
    fwhm_px: float
    zero_point: float | None
    exptime: float
    rms: float
    gain: float | None = None
    saturation: float | None = None
    source: str = ""

    @property
    def wcs(self) -> Any:
        from astropy.wcs import WCS

        return WCS(self.header, naxis=2).celestial


class ReferenceStore:
    """One reference per (site, telescope, filter, rounded pointing); thread-safe.

    Parameters
    ----------
    directory : str or Path, optional
        Keep references as FITS files here (created if missing); None keeps
        them in memory only.
    grid_deg : float
        Pointings are rounded to this grid to form the field key.
    """

    def __init__(self, directory: str | Path | None = None, *, grid_deg: float = 0.05) -> None:
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.grid_deg = grid_deg
        self._memory: dict[str, Reference] = {}
        self._lock = threading.Lock()

    def key(self, site: str | None, ra_deg: float, dec_deg: float, filter: str | None,
            telescope: str | None = None) -> str:
        """The field key: site (and telescope), filter and pointing rounded to the grid."""
        g = self.grid_deg
        ra = (round(ra_deg / g) * g) % 360.0
        dec = round(dec_deg / g) * g
        where = f"{site or 'unknown'}" + (f"-{telescope}" if telescope else "")
        return f"{where}_{filter or 'nofilter'}_{ra:08.3f}_{dec:+07.3f}"

    def get(self, key: str) -> Reference | None:
        """The reference of a field, or None."""
        with self._lock:
            if key in self._memory:
                return self._memory[key]
            path = self._path(key)
            if path is None or not path.is_file():
                return None
            ref = _read_reference(path)
            self._memory[key] = ref
            return ref

    def put(self, key: str, reference: Reference) -> None:
        """Store (or replace) the reference of a field, atomically on disk."""
        with self._lock:
            self._memory[key] = reference
            path = self._path(key)
            if path is not None:
                _write_reference(path, key, reference)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        with self._lock:
            keys = set(self._memory)
            if self.directory is not None:
                keys |= {p.stem for p in self.directory.glob("*.fits")}
            return len(keys)

    def _path(self, key: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / (re.sub(r"[^A-Za-z0-9_.+-]", "-", key) + ".fits")


def _write_reference(path: Path, key: str, ref: Reference) -> None:
    from astropy.io import fits

    header = ref.header.copy()
    for k, v in (("OAR_KEY", key), ("OAR_FWHM", ref.fwhm_px), ("OAR_ZP", ref.zero_point),
                 ("OAR_EXPT", ref.exptime), ("OAR_RMS", ref.rms), ("OAR_GAIN", ref.gain),
                 ("OAR_SATL", ref.saturation), ("OAR_SRC", ref.source[:60])):
        if v is not None:
            header[k] = v
    hdu = fits.PrimaryHDU(ref.image.astype(np.float32), header=header)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        hdu.writeto(tmp, overwrite=True, output_verify="silentfix")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_reference(path: Path) -> Reference:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        header = hdul[0].header.copy()
        image = np.ascontiguousarray(hdul[0].data, dtype=np.float32)

    def opt(key: str) -> float | None:
        v = header.get(key)
        return None if v is None else float(v)

    return Reference(image=image, header=header, fwhm_px=float(header["OAR_FWHM"]),
                     zero_point=opt("OAR_ZP"), exptime=float(header["OAR_EXPT"]),
                     rms=float(header["OAR_RMS"]), gain=opt("OAR_GAIN"),
                     saturation=opt("OAR_SATL"), source=str(header.get("OAR_SRC", "")))
