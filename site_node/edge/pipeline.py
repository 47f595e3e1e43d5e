"""The edge pipeline: everything the site node measures on every frame.

:class:`EdgePipeline` runs, in order: loading and validation
(:mod:`~site_node.edge.frame`), sky and sources (:mod:`~site_node.edge.sources`),
image quality (:mod:`~site_node.edge.quality`), the zero point against the
sky-model catalogue (:mod:`~site_node.edge.zeropoint`), the anomaly model
(:mod:`~site_node.edge.anomaly`) and transient candidates against the field's
reference (:mod:`~site_node.edge.transients`), vetted by the real/bogus model
(:mod:`~site_node.edge.vetting`), and returns a :class:`FrameResult`.

Bad input
---------
:meth:`EdgePipeline.analyze` raises :class:`~site_node.edge.frame.FrameError`
(one line, naming the frame) only when there is nothing to analyse: not FITS or
unreadable, no image HDU, not 2-D, smaller than 64x64, or no finite pixel
(a frame of NaNs). Everything else gives a result whose ``warnings`` say what
was skipped: a missing or broken WCS (no zero point, no transients), missing
header values, some non-finite pixels (masked), a constant frame such as all
zeros or all saturated (no sources; anomaly verdict ``anomalous`` with no
score), or a stage that failed unexpectedly.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from site_node.edge.anomaly import AnomalyScorer, ModelRejected, ModelSlot
from site_node.edge.frame import Frame, FrameError, load_frame
from site_node.edge.photometry import photometry_stage
from site_node.edge.quality import Quality, measure_quality
from site_node.edge.sources import Extraction, extract_sources
from site_node.edge.transients import (
    Reference,
    ReferenceStore,
    find_transients,
    search_candidates,
)
from site_node.edge.vetting import VettingModel, VettingModelRejected, find_vetting_model
from site_node.edge.zeropoint import ZeroPoint, estimate_zero_point

__all__ = ["EdgePipeline", "FrameError", "FrameResult", "default_models_dir", "find_model"]

_ACTIVE = "ACTIVE"
_MAX_SCORED = 500
"""Difference-image candidates scored by the vetting model (by decreasing SNR): a
cosmic-ray shower must not push a real transient out before it is scored."""
_MAX_REPORTED = 100
"""At most this many vetted, and rejected, candidates in a result (by decreasing SNR)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class FrameResult:
    """What the edge pipeline measured on one frame (JSON-able through :meth:`to_dict`).

    Units: sky level and noise in ADU; FWHM in arcsec (``fwhm_px`` in pixels);
    zero point in mag giving 1 ADU/s. None where a value could not be measured
    (``warnings`` says why). ``anomaly_verdict`` is ``normal``, ``anomalous`` or
    ``unscored``; ``anomaly_model`` is ``name@sha256[:12]``. Each transient is
    a dict with ``ra``, ``dec``, ``x``, ``y``, ``flux``, ``flux_err``, ``snr``,
    ``mag``; with a vetting model (``vetting_model``, ``name@sha256[:12]``) also
    ``real_bogus`` (probability of being real), ``vetted`` (True) and
    ``hand_cuts`` (whether the hand-written cuts would have kept it), and the
    candidates the model rejected are in ``rejected_transients`` (``vetted``
    False) rather than ``transients``. ``reference`` says what happened with
    the field's reference: ``stored`` (this frame became it), ``compared``,
    ``none`` or ``skipped: ...``.
    """

    sky_level: float
    sky_noise: float
    n_sources: int
    fwhm_arcsec: float | None
    ellipticity: float | None
    zero_point: float | None
    zero_point_err: float | None
    n_zp_stars: int
    anomaly_score: float | None
    anomaly_verdict: str
    anomaly_model: str | None
    transients: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    frame: str = "<memory>"
    fwhm_px: float | None = None
    reference: str = "none"
    rejected_transients: list[dict[str, Any]] = field(default_factory=list)
    vetting_model: str | None = None
    photometry: dict[str, Any] | None = None
    """Aperture/PSF photometry of the target and the catalogue stars
    (:func:`~site_node.edge.photometry.photometry_stage`), None when not measured."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (non-finite numbers become None)."""
        return _finite(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def default_models_dir() -> Path | None:
    """The shipped anomaly models (``models/anomaly`` of this project), if present."""
    spec = importlib.util.find_spec("models")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "anomaly"
    return path if path.is_dir() else None


def find_model(models_dir: Path) -> Path | None:
    """The ONNX file of the model to serve from a directory.

    The name in an ``ACTIVE`` file if there is one (written by
    :meth:`EdgePipeline.deploy_model`), else the highest ``anomaly-vN.onnx``;
    a directory with an ``anomaly/`` subdirectory is searched there too.
    """
    for d in (models_dir, models_dir / "anomaly"):
        active = d / _ACTIVE
        if active.is_file():
            path = d / (active.read_text().strip() + ".onnx")
            if path.is_file():
                return path
        found = sorted(d.glob("anomaly-v*.onnx"), key=_version)
        if found:
            return found[-1]
    return None


class EdgePipeline:
    """Analyse frames at the site: quality, zero point, anomaly score, transients.

    Parameters
    ----------
    models_dir : Path, optional
        Where the anomaly model is (see :func:`find_model`). None uses the
        shipped model; models deployed later are then kept in memory only.
        With a directory, deployed models are also written there (and marked
        ``ACTIVE``) so a restarted node serves the last one deployed.
    references : ReferenceStore, optional
        References of the fields (default: a new in-memory store).
    threads : int
        onnxruntime threads (sep is single-threaded).
    catalogue : callable, optional
        Star catalogue for the zero point (default ``simulator.starfield.stars_in_field``).
    vetting : VettingModel, str, Path or None
        The real/bogus model deciding which difference-image candidates are
        transients: ``"shipped"`` (default) loads the highest
        ``models/vetting/vetting-vN.onnx``, a path loads that ONNX file (and
        its ``.json``), None keeps the hand-written cuts of
        :func:`~site_node.edge.transients.find_transients`, as does a model
        that cannot be loaded (with a warning on every frame).

    Examples
    --------
    >>> pipeline = EdgePipeline()                         # doctest: +SKIP
    >>> result = pipeline.analyze("frame.fits")           # doctest: +SKIP
    >>> result.anomaly_verdict, result.zero_point         # doctest: +SKIP
    ('normal', 24.61)
    """

    def __init__(self, models_dir: Path | None = None,
                 references: ReferenceStore | None = None, *, threads: int = 1,
                 catalogue: Any = None, vetting: VettingModel | str | Path | None = "shipped",
                 ) -> None:
        self.references = references if references is not None else ReferenceStore()
        self.catalogue = catalogue
        self._persist = Path(models_dir) if models_dir is not None else None
        self._startup_notes: list[str] = []
        self.vetting = self._load_vetting(vetting, threads)
        self.models = ModelSlot(threads=threads)
        search = self._persist if self._persist is not None else default_models_dir()
        path = find_model(search) if search is not None and search.is_dir() else None
        if path is None:
            self._startup_notes.append(f"no anomaly model in {search}: frames unscored")
        else:
            try:
                self.models.swap(AnomalyScorer.from_files(path, threads=threads))
            except (ModelRejected, OSError) as exc:
                self._startup_notes.append(f"anomaly model {path.name} not loaded: {exc}")

    def _load_vetting(self, vetting: VettingModel | str | Path | None,
                      threads: int) -> VettingModel | None:
        if vetting is None or isinstance(vetting, VettingModel):
            return vetting
        path = find_vetting_model() if vetting == "shipped" else Path(vetting)
        if path is None or not path.is_file():
            self._startup_notes.append(f"no vetting model ({vetting}): transients by hand cuts")
            return None
        try:
            return VettingModel.from_files(path, threads=threads)
        except (VettingModelRejected, OSError) as exc:
            self._startup_notes.append(f"vetting model {path.name} not loaded ({exc}): "
                                       "transients by hand cuts")
            return None

    @property
    def model_id(self) -> str | None:
        scorer = self.models.current
        return scorer.model_id if scorer is not None else None

    def deploy_model(self, name: str, onnx_bytes: bytes, sha256: str,
                     metadata: dict[str, Any] | None = None) -> str:
        """Hot-swap the anomaly model; returns the new model id.

        Raises :class:`~site_node.edge.anomaly.ModelRejected` (the old model
        stays) when the hash does not match or the model is unusable.
        """
        if not _NAME.match(name):
            raise ModelRejected(f"model name {name!r} is not a plain file name")
        scorer = self.models.deploy(onnx_bytes, sha256, metadata, name=name)
        if self._persist is not None:
            self._persist.mkdir(parents=True, exist_ok=True)
            _write_atomic(self._persist / f"{name}.onnx", onnx_bytes)
            _write_atomic(self._persist / f"{name}.json",
                          json.dumps(scorer.metadata, indent=2).encode())
            _write_atomic(self._persist / _ACTIVE, name.encode())
        return scorer.model_id

    def analyze(self, source: Any, *, name: str | None = None) -> FrameResult:
        """Analyse one frame (HDUList, FITS path or bytes, or 2-D array).

        Raises
        ------
        FrameError
            Nothing to analyse (see the module docstring); everything else is
            reported in the result's ``warnings``.
        """
        timings: dict[str, float] = {}
        t_all = time.perf_counter()
        t = time.perf_counter()
        frame = load_frame(source, name=name)
        timings["load"] = _ms(t)
        notes = list(self._startup_notes) + list(frame.warnings)
        t = time.perf_counter()
        ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain,
                              saturate=frame.saturate)
        timings["sources"] = _ms(t)
        notes += ext.warnings
        t = time.perf_counter()
        quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
        timings["quality"] = _ms(t)
        notes += quality.warnings
        t = time.perf_counter()
        zp = self._zero_point(frame, ext, quality, notes)
        timings["zero_point"] = _ms(t)
        t = time.perf_counter()
        photometry = photometry_stage(frame, ext, quality.fwhm_px, catalogue=self.catalogue,
                                      notes=notes)
        timings["photometry"] = _ms(t)
        t = time.perf_counter()
        score, verdict, model = self._anomaly(frame, ext, notes)
        timings["anomaly"] = _ms(t)
        t = time.perf_counter()
        transients, rejected, ref_status = self._transients(frame, ext, quality, zp, verdict,
                                                            notes, timings)
        timings["transients"] = _ms(t)
        timings["total"] = _ms(t_all)
        return FrameResult(
            sky_level=quality.sky_level, sky_noise=quality.sky_noise,
            n_sources=quality.n_sources, fwhm_arcsec=quality.fwhm_arcsec,
            ellipticity=quality.ellipticity, zero_point=zp.value, zero_point_err=zp.err,
            n_zp_stars=zp.n_stars, anomaly_score=score, anomaly_verdict=verdict,
            anomaly_model=model, transients=transients, warnings=notes, timings_ms=timings,
            frame=frame.name, fwhm_px=quality.fwhm_px, reference=ref_status,
            rejected_transients=rejected,
            vetting_model=self.vetting.model_id if self.vetting is not None else None,
            photometry=photometry)

    def _zero_point(self, frame: Frame, ext: Extraction, quality: Quality,
                    notes: list[str]) -> ZeroPoint:
        if frame.wcs is None:
            return ZeroPoint(None, None, 0, "no WCS")
        try:
            zp = estimate_zero_point(ext.image, ext.objects, frame.wcs, filter=frame.filter,
                                     exptime=frame.exptime, fwhm_px=quality.fwhm_px,
                                     rms=ext.rms, catalogue=self.catalogue)
        except Exception as exc:  # noqa: BLE001 - a failing stage must not lose the frame
            zp = ZeroPoint(None, None, 0, f"failed: {_one_line(exc)}")
        if zp.value is None:
            notes.append(f"zero point not measured: {zp.reason}")
        return zp

    def _anomaly(self, frame: Frame, ext: Extraction,
                 notes: list[str]) -> tuple[float | None, str, str | None]:
        scorer = self.models.current
        if scorer is None:
            return None, "unscored", None
        if not ext.rms > 0:
            notes.append("constant frame (no sky noise): anomalous without scoring")
            return None, "anomalous", scorer.model_id
        reference, center = None, frame.center_world()
        if center is not None and frame.wcs is not None:
            reference = self.references.get(self.references.key(
                frame.site, center[0], center[1], frame.filter, frame.telescope))
        try:
            result = scorer.score(frame.data, ext.image, ext.background, ext.rms, ext.objects,
                                  gain=frame.gain, read_noise_e=frame.read_noise,
                                  reference=reference, wcs=frame.wcs)
        except Exception as exc:  # noqa: BLE001 - a failing stage must not lose the frame
            notes.append(f"anomaly not scored: {_one_line(exc)}")
            return None, "unscored", scorer.model_id
        return result.score, result.verdict, result.model

    def _transients(self, frame: Frame, ext: Extraction, quality: Quality, zp: ZeroPoint,
                    verdict: str, notes: list[str], timings: dict[str, float],
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        """(vetted transients, rejected candidates, reference status)."""
        center = frame.center_world()
        if center is None or frame.exptime is None or quality.fwhm_px is None:
            return [], [], "none"
        key = self.references.key(frame.site, center[0], center[1], frame.filter,
                                  frame.telescope)
        saturation = frame.saturate - ext.background if frame.saturate else None
        rejected: list[dict[str, Any]] = []
        try:
            reference = self.references.get(key)
            if reference is None:
                if verdict == "anomalous":
                    return [], [], "none"
                self.references.put(key, Reference(
                    image=ext.image, header=frame.wcs.to_header(relax=True),
                    fwhm_px=quality.fwhm_px, zero_point=zp.value, exptime=frame.exptime,
                    rms=ext.rms, gain=frame.gain, saturation=saturation, source=frame.name))
                return [], [], "stored"
            inputs = {"fwhm_px": quality.fwhm_px, "zero_point": zp.value,
                      "exptime": frame.exptime, "rms": ext.rms, "gain": frame.gain,
                      "saturation": saturation, "reference": reference,
                      "objects": ext.objects, "bad_columns": ext.bad_columns}
            if self.vetting is None:
                found, why = find_transients(ext.image, frame.wcs, **inputs)
            else:
                candidates, why = search_candidates(ext.image, frame.wcs, **inputs,
                                                    max_candidates=_MAX_SCORED)
                t = time.perf_counter()
                try:
                    found, rejected = self.vetting.vet(candidates)
                    found, rejected = found[:_MAX_REPORTED], rejected[:_MAX_REPORTED]
                except Exception as exc:  # noqa: BLE001 - fall back, never lose the frame
                    notes.append(f"vetting failed ({_one_line(exc)}): hand cuts used")
                    found = [{k: v for k, v in c.items() if k != "hand_cuts"}
                             for c in candidates.table if c["hand_cuts"]]
                timings["vetting"] = _ms(t)
        except Exception as exc:  # noqa: BLE001 - a failing stage must not lose the frame
            notes.append(f"transients not searched: {_one_line(exc)}")
            return [], [], "skipped: error"
        notes += [f"transients: {w}" for w in why]
        skipped = next((w for w in why if w.endswith(": skipped")), None)
        status = f"skipped: {skipped.removesuffix(': skipped')}" if skipped else "compared"
        return found, rejected, status


def _version(path: Path) -> tuple[int, str]:
    m = re.search(r"-v(\d+)", path.stem)
    return (int(m.group(1)) if m else -1, path.stem)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _finite(value.item())
    return value


def _ms(t0: float) -> float:
    return round(1000.0 * (time.perf_counter() - t0), 2)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return text if len(text) <= 200 else text[:197] + "..."
