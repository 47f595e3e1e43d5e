"""Reading a frame for the edge pipeline: pixels, header values and WCS, validated.

:func:`load_frame` accepts an ``astropy.io.fits.HDUList``, a path to a FITS file,
raw FITS bytes or a bare 2-D array, and returns a :class:`Frame`. Anything that
cannot be analysed at all raises :class:`FrameError` with a one-line message;
anything that can be analysed with less (no WCS, no gain, some non-finite
pixels) becomes a warning carried by the frame.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MIN_SIDE", "Frame", "FrameError", "load_frame"]

MIN_SIDE = 64
"""Smallest frame side (pixels) the pipeline accepts."""


class FrameError(ValueError):
    """A frame that cannot be analysed; the message is one line naming the cause."""


@dataclass(frozen=True)
class Frame:
    """One frame, ready for analysis.

    Attributes
    ----------
    data : numpy.ndarray
        2-D float32 pixels (ADU), C-contiguous; non-finite pixels replaced by the
        median of the finite ones and flagged in ``mask``.
    mask : numpy.ndarray or None
        True where a pixel was non-finite; None when every pixel is finite.
    header : astropy.io.fits.Header
        The image header (an empty one for a bare array).
    wcs : astropy.wcs.WCS or None
        The celestial WCS, or None when the header has none usable.
    name : str
        Where the frame came from (file name, or ``"<memory>"``).
    gain, read_noise, saturate, exptime : float or None
        ``GAIN`` (e-/ADU), ``RDNOISE`` (e-), ``SATURATE`` (ADU) and ``EXPTIME``
        (s) when present.
    filter, site, telescope : str or None
        ``FILTER``, ``OBSERVAT`` and ``TELESCOP`` when present.
    pixel_scale_arcsec : float or None
        From the WCS (or ``PIXSCALE``).
    warnings : tuple of str
        What was missing or repaired.
    """

    data: np.ndarray
    mask: np.ndarray | None
    header: Any
    wcs: Any
    name: str = "<memory>"
    gain: float | None = None
    read_noise: float | None = None
    saturate: float | None = None
    exptime: float | None = None
    filter: str | None = None
    site: str | None = None
    telescope: str | None = None
    pixel_scale_arcsec: float | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]

    def center_world(self) -> tuple[float, float] | None:
        """RA and Dec (deg) of the frame's centre, or None without a WCS."""
        if self.wcs is None:
            return None
        ny, nx = self.shape
        ra, dec = self.wcs.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
        return float(ra), float(dec)


def load_frame(source: Any, *, name: str | None = None) -> Frame:
    """Read and validate a frame.

    Parameters
    ----------
    source : HDUList, str, Path, bytes or numpy.ndarray
        The frame. For an HDUList or a file, the first HDU holding a 2-D image
        is used (primary, image or compressed image).
    name : str, optional
        Name used in messages (default: the file name, or ``"<memory>"``).

    Returns
    -------
    Frame

    Raises
    ------
    FrameError
        Not FITS, unreadable, no image HDU, not 2-D, smaller than
        :data:`MIN_SIDE`, or no finite pixel at all.
    """
    from astropy.io import fits

    label = name or (Path(source).name if isinstance(source, str | Path) else "<memory>")
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(source, np.ndarray):
            data, header = source, fits.Header()
        else:
            data, header = _read_fits(source, label)
        data = _as_image(data, label)
        data, mask = _mask_non_finite(data, label, notes)
        wcs, scale = _celestial_wcs(header, notes)
    return Frame(
        data=data, mask=mask, header=header, wcs=wcs, name=label,
        gain=_number(header, "GAIN", notes, positive=True),
        read_noise=_number(header, "RDNOISE", notes, positive=True),
        saturate=_number(header, "SATURATE", notes, positive=True),
        exptime=_number(header, "EXPTIME", notes, positive=True),
        filter=_text(header, "FILTER"), site=_text(header, "OBSERVAT"),
        telescope=_text(header, "TELESCOP"),
        pixel_scale_arcsec=scale, warnings=tuple(notes))


def _read_fits(source: Any, label: str) -> tuple[Any, Any]:
    from astropy.io import fits

    opened = None
    try:
        if isinstance(source, fits.HDUList):
            hdul = source
        elif isinstance(source, bytes | bytearray | memoryview):
            hdul = opened = fits.open(io.BytesIO(bytes(source)), memmap=False)
        elif isinstance(source, str | Path):
            path = Path(source)
            if not path.is_file():
                raise FrameError(f"{label}: no such file")
            hdul = opened = fits.open(path, memmap=False)
        else:
            raise FrameError(f"{label}: cannot read a frame from {type(source).__name__}")
        for hdu in hdul:
            if getattr(hdu, "is_image", False) and hdu.header.get("NAXIS", 0) >= 1:
                data = hdu.data
                if data is not None:
                    return np.asarray(data), hdu.header.copy()
        raise FrameError(f"{label}: no image HDU with data")
    except FrameError:
        raise
    except Exception as exc:  # noqa: BLE001 - astropy raises many types for broken files
        raise FrameError(f"{label}: not a readable FITS file ({_one_line(exc)})") from None
    finally:
        if opened is not None:
            opened.close()


def _as_image(data: Any, label: str) -> np.ndarray:
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise FrameError(f"{label}: image is {data.ndim}-D {tuple(data.shape)}, expected 2-D")
    if min(data.shape) < MIN_SIDE:
        raise FrameError(f"{label}: image {data.shape[1]}x{data.shape[0]} is smaller than "
                         f"{MIN_SIDE}x{MIN_SIDE}")
    if data.dtype.kind not in "iuf":
        raise FrameError(f"{label}: pixel type {data.dtype} is not numeric")
    return np.ascontiguousarray(data, dtype=np.float32)


def _mask_non_finite(data: np.ndarray, label: str,
                     notes: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    finite = np.isfinite(data)
    if finite.all():
        return data, None
    n_bad = int(finite.size - np.count_nonzero(finite))
    if n_bad == finite.size:
        raise FrameError(f"{label}: no finite pixel (all NaN or infinite)")
    data = np.where(finite, data, np.float32(np.median(data[finite])))
    notes.append(f"{n_bad} non-finite pixels ({100 * n_bad / finite.size:.1f}%) masked")
    return data, ~finite


def _celestial_wcs(header: Any, notes: list[str]) -> tuple[Any, float | None]:
    from astropy.wcs import WCS
    from astropy.wcs.utils import proj_plane_pixel_scales

    scale = _number(header, "PIXSCALE", [], positive=True)
    if "CTYPE1" not in header:
        notes.append("no WCS in the header: zero point and transients skipped")
        return None, scale
    try:
        wcs = WCS(header, naxis=2).celestial
        if not wcs.has_celestial or wcs.naxis != 2:
            raise ValueError("not a celestial WCS")
        scales = proj_plane_pixel_scales(wcs) * 3600.0
        if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(f"bad pixel scale {scales}")
    except Exception as exc:  # noqa: BLE001 - a broken WCS is a warning, not an error
        notes.append(f"WCS unusable ({_one_line(exc)}): zero point and transients skipped")
        return None, scale
    return wcs, float(np.sqrt(scales[0] * scales[1]))


def _number(header: Any, key: str, notes: list[str], *, positive: bool = False) -> float | None:
    try:
        value = header.get(key)
    except Exception:  # noqa: BLE001 - an unparsable card counts as missing
        value = None
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        notes.append(f"header {key}={value!r} is not a number: ignored")
        return None
    if not math.isfinite(number) or (positive and number <= 0):
        notes.append(f"header {key}={value!r} is not a positive number: ignored")
        return None
    return number


def _text(header: Any, key: str) -> str | None:
    try:
        value = header.get(key)
    except Exception:  # noqa: BLE001 - an unparsable card counts as missing
        return None
    return None if value is None else str(value).strip() or None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
