"""Joint calibration of every site of a network from matched stars of many nights.

One weighted least-squares fit (``scipy.sparse``) over all sites, nights and frames
of one band::

    catalogue_mag = instrumental_mag + zp[frame] + colour[site] * (colour - 0.65)
                    + poly[site](x, y) + grid[site](x, y)

``zp`` is free per frame (it absorbs extinction, drift, dew and thin cloud exactly),
``poly`` is the degree-4 polynomial flat of :mod:`.photometric` and ``grid`` a
bilinear :data:`GRID` x :data:`GRID` star flat with a curvature penalty (the
small-scale flat structure the polynomial misses), both per site (per telescope),
shared by all its nights. Outliers are clipped at 4 sigma. A second stage explains
each site's frame zero points as ``night zero point - extinction (airmass - 1) +
drift (t - night's median time)`` (robust per-site regression), so the network
also learns each site's extinction and drift, and predicts a frame's zero point
when it has too few stars. :meth:`NetworkCalibration.site_calibration` returns
a :class:`~models.calibration.photometric.SiteCalibration`-compatible summary.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from models.calibration.photometric import REFERENCE_COLOUR, SiteCalibration, flat_design

__all__ = ["GRID", "NetworkCalibration", "bilinear_weights", "fit_network"]

GRID = 12
"""Nodes per side of the bilinear star flat."""
_N_POLY = 14
_CLIP = 4.0


def bilinear_weights(x: np.ndarray, y: np.ndarray, grid: int = GRID,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Node indices (n, 4) and weights (n, 4) of bilinear interpolation on a grid over
    [-1, 1]^2 (node ``iy * grid + ix``)."""
    gx = np.clip((np.asarray(x, float) + 1.0) / 2.0 * (grid - 1), 0.0, grid - 1 - 1e-9)
    gy = np.clip((np.asarray(y, float) + 1.0) / 2.0 * (grid - 1), 0.0, grid - 1 - 1e-9)
    ix, iy = np.floor(gx).astype(int), np.floor(gy).astype(int)
    fx, fy = gx - ix, gy - iy
    idx = np.stack([iy * grid + ix, iy * grid + ix + 1, (iy + 1) * grid + ix,
                    (iy + 1) * grid + ix + 1], axis=1)
    wts = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    return idx, wts


@dataclass(frozen=True)
class NetworkCalibration:
    """The fitted network: per-site colour terms and flats, per-frame zero points.

    Attributes
    ----------
    sites : tuple of str
    band : str
    colour_term : dict of str to float
    poly : dict of str to numpy.ndarray
        :data:`~models.calibration.photometric.FLAT_TERMS` coefficients per site.
    grid : dict of str to numpy.ndarray
        (GRID, GRID) star flat per site (mag).
    frame_zp : dict of int to float
        Zero point of each frame.
    frame_site, frame_night : dict of int to ...
    extinction, drift_per_hour, zp_scatter : dict of str to float
        Second stage: per site.
    night_zp : dict of (str, int) to float
    night_mjd : dict of (str, int) to float
        Each night's reference time (median frame time).
    residual_rms : dict of str to float
        Robust RMS of the star residuals per site.
    n_stars : int
        Observations kept.
    """

    sites: tuple[str, ...]
    band: str
    colour_term: dict
    poly: dict
    grid: dict
    frame_zp: dict
    frame_site: dict
    frame_night: dict
    extinction: dict
    drift_per_hour: dict
    zp_scatter: dict
    night_zp: dict
    night_mjd: dict
    residual_rms: dict
    n_stars: int

    def prior(self, site: str, *, colour_sigma: float = 0.002, extinction_sigma: float = 0.005,
              flat_sigma: float = 0.002) -> SiteCalibration:
        """The site's learned effects as a prior for
        :func:`~models.calibration.photometric.fit_site_calibration` (nominal sigmas; the
        zero point and reference time are the mean of its nights, the drift per day
        ``24 x drift_per_hour``; the star flat's grid part is not included)."""
        nights = [k for k in self.night_zp if k[0] == site]
        zp = float(np.mean([self.night_zp[k] for k in nights]))
        sig = [max(self.zp_scatter[site], 1e-3), colour_sigma, extinction_sigma,
               24.0 * 0.001] + [flat_sigma] * _N_POLY
        cov = np.diag(np.square(sig))
        return SiteCalibration(
            site=site, band=self.band, zero_point=zp, colour_term=self.colour_term[site],
            extinction=self.extinction[site], flat=tuple(float(v) for v in self.poly[site]),
            drift_per_day=24.0 * self.drift_per_hour[site],
            reference_mjd=float(np.mean([self.night_mjd[k] for k in nights])),
            covariance=tuple(tuple(float(v) for v in row) for row in cov),
            residual_rms=self.residual_rms[site], n_stars=self.n_stars, converged=True,
            reason="prior from the network fit", systematic_floor=0.0)

    def flat(self, site: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The site's flat correction (mag) at normalised positions."""
        idx, wts = bilinear_weights(x, y)
        return (flat_design(x, y, _N_POLY) @ self.poly[site]
                + np.sum(self.grid[site].ravel()[idx] * wts, axis=1))

    def predicted_zp(self, site: str, night: int, airmass, time_mjd) -> np.ndarray:
        """A frame's zero point from the second stage (no stars of its own needed)."""
        return (self.night_zp[(site, night)]
                - self.extinction[site] * (np.asarray(airmass, float) - 1.0)
                + self.drift_per_hour[site] * 24.0
                * (np.asarray(time_mjd, float) - self.night_mjd[(site, night)]))

    def apply(self, site: str, frame: np.ndarray, instrumental_mag, colour, x, y,
              ) -> np.ndarray:
        """Calibrated magnitudes of measurements in fitted frames of ``site``."""
        zp = np.array([self.frame_zp[int(f)] for f in np.asarray(frame).ravel()])
        return (np.asarray(instrumental_mag, float) + zp
                + self.colour_term[site] * (np.asarray(colour, float) - REFERENCE_COLOUR)
                + self.flat(site, np.asarray(x, float), np.asarray(y, float)))


def _one_blas_thread():
    """Limit BLAS to one thread where threadpoolctl exists: the matrices here are a few
    hundred wide, and on a busy machine threaded BLAS spins (10-100x slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def fit_network(data: dict[str, np.ndarray], *, band: str, curvature: float = 30.0,
                iterations: int = 6) -> NetworkCalibration:
    """Fit :class:`NetworkCalibration` to matched stars of several sites.

    Parameters
    ----------
    data : dict of str to numpy.ndarray
        The columns of :func:`models.calibration.simulate.simulate_night` (at least
        ``site`` (str), ``frame`` (unique over sites), ``night``, ``time_mjd``,
        ``airmass``, ``instrumental_mag``, ``instrumental_err``, ``catalogue_mag``,
        ``catalogue_colour``, ``x``, ``y``).
    band : str
    curvature : float
        The star flat's smoothness: the penalty added to the chi-square is
        ``curvature * 1e6 * sum(second differences (mag) ** 2)`` over its nodes.
    iterations : int
        Clipping iterations.

    Returns
    -------
    NetworkCalibration
    """
    with _one_blas_thread():
        return _fit_network(data, band=band, curvature=curvature, iterations=iterations)


def _fit_network(data: dict[str, np.ndarray], *, band: str, curvature: float = 30.0,
                 iterations: int = 6) -> NetworkCalibration:
    """The work of :func:`fit_network`."""
    from scipy import sparse
    from scipy.linalg import cho_factor, cho_solve

    for name in ("site", "frame", "night", "time_mjd", "airmass", "instrumental_mag",
                 "instrumental_err", "catalogue_mag", "catalogue_colour", "x", "y"):
        if name not in data:
            raise ValueError(f"data lacks column {name!r}")
    site_arr = np.asarray(data["site"]).astype(str)
    sites = tuple(sorted(set(site_arr.tolist())))
    s_idx = np.searchsorted(sites, site_arr)
    frames, f_idx = np.unique(np.asarray(data["frame"], int), return_inverse=True)
    n, ns, nf = len(site_arr), len(sites), len(frames)
    per_site = 1 + _N_POLY + GRID * GRID
    n_par = nf + ns * per_site
    base = nf + s_idx * per_site
    poly = flat_design(data["x"], data["y"], _N_POLY)
    gidx, gw = bilinear_weights(data["x"], data["y"])
    rows = np.repeat(np.arange(n), 1 + 1 + _N_POLY + 4)
    cols = np.column_stack([f_idx, base, base[:, None] + 1 + np.arange(_N_POLY),
                            base[:, None] + 1 + _N_POLY + gidx])
    vals = np.column_stack([np.ones(n), data["catalogue_colour"] - REFERENCE_COLOUR, poly, gw])
    a = sparse.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n, n_par))
    b = np.asarray(data["catalogue_mag"], float) - np.asarray(data["instrumental_mag"], float)
    err = np.asarray(data["instrumental_err"], float)
    penalty = _grid_penalty(ns, nf, per_site, curvature)
    keep = np.ones(n, bool)
    floor = 0.002
    for _ in range(iterations):
        w = np.where(keep, 1.0 / (err**2 + floor**2), 0.0)
        lhs = (a.T @ a.multiply(w[:, None])).toarray() + penalty
        rhs = a.T @ (w * b)
        params = cho_solve(cho_factor(lhs + 1e-10 * np.eye(n_par)), rhs)
        resid = b - a @ params
        scale = np.sqrt(err**2 + floor**2)
        pull = resid / scale
        sig = 1.4826 * np.median(np.abs(pull[keep]))
        new = np.abs(pull) <= _CLIP * max(sig, 1.0)
        floor = max(float(np.sqrt(max(np.median(resid[keep] ** 2) / 0.455
                                      - np.median(err[keep] ** 2), 0.0))), 0.001)
        if np.array_equal(new, keep):
            break
        keep = new
    frame_zp = {int(f): float(params[k]) for k, f in enumerate(frames)}
    colour, polys, grids, rms = {}, {}, {}, {}
    for k, s in enumerate(sites):
        p = params[nf + k * per_site: nf + (k + 1) * per_site]
        colour[s], polys[s] = float(p[0]), p[1:1 + _N_POLY].copy()
        grids[s] = p[1 + _N_POLY:].reshape(GRID, GRID).copy()
        r = resid[keep & (s_idx == k)]
        rms[s] = float(1.4826 * np.median(np.abs(r - np.median(r))))
    f_site = {int(frames[f_idx[i]]): sites[s_idx[i]] for i in range(n)}
    first = {int(frames[f]): i for i, f in reversed(list(enumerate(f_idx)))}
    f_night = {f: int(data["night"][i]) for f, i in first.items()}
    f_air = {f: float(data["airmass"][i]) for f, i in first.items()}
    f_time = {f: float(data["time_mjd"][i]) for f, i in first.items()}
    stage2 = _zero_point_model(sites, frame_zp, f_site, f_night, f_air, f_time)
    return NetworkCalibration(sites=sites, band=band, colour_term=colour, poly=polys,
                              grid=grids, frame_zp=frame_zp, frame_site=f_site,
                              frame_night=f_night, residual_rms=rms, n_stars=int(keep.sum()),
                              **stage2)


def _grid_penalty(ns: int, nf: int, per_site: int, curvature: float) -> np.ndarray:
    """Second differences along rows and columns of each site's star flat, plus a
    strong zero-mean constraint (the frame zero points carry the constant) and a weak
    ridge (the penalty leaves bilinear functions free, which the polynomial has)."""
    g = GRID
    d = []
    for iy in range(g):
        for ix in range(1, g - 1):
            d.append({iy * g + ix - 1: 1.0, iy * g + ix: -2.0, iy * g + ix + 1: 1.0})
    for ix in range(g):
        for iy in range(1, g - 1):
            d.append({(iy - 1) * g + ix: 1.0, iy * g + ix: -2.0, (iy + 1) * g + ix: 1.0})
    dm = np.zeros((len(d), g * g))
    for r, terms in enumerate(d):
        for c, v in terms.items():
            dm[r, c] = v
    block = (curvature * 1e6 * (dm.T @ dm) + 1e8 * np.ones((g * g, g * g)) / (g * g)
             + 1e4 * np.eye(g * g))     # a 10 mmag prior: the polynomial carries the bilinear part
    n_par = nf + ns * per_site
    out = np.zeros((n_par, n_par))
    for k in range(ns):
        lo = nf + k * per_site + 1 + _N_POLY
        out[lo:lo + g * g, lo:lo + g * g] = block
    return out


def _zero_point_model(sites, frame_zp, f_site, f_night, f_air, f_time) -> dict:
    """Per site: night zero points, extinction and drift from the frames' zero points."""
    ext, drift, scatter, night_zp, night_mjd = {}, {}, {}, {}, {}
    for s in sites:
        fr = [f for f in frame_zp if f_site[f] == s]
        nights = sorted({f_night[f] for f in fr})
        for nt in nights:
            night_mjd[(s, nt)] = float(np.median([f_time[f] for f in fr if f_night[f] == nt]))
        x = np.array([f_air[f] - 1.0 for f in fr])
        t = np.array([(f_time[f] - night_mjd[(s, f_night[f])]) * 24.0 for f in fr])
        onehot = np.array([[f_night[f] == nt for nt in nights] for f in fr], float)
        design = np.column_stack([onehot, -x, t])
        z = np.array([frame_zp[f] for f in fr])
        night_of = np.array([nights.index(f_night[f]) for f in fr])
        # each night's own scatter about its own line: a cloudy night barely counts
        night_sig = np.empty(len(nights))
        for j in range(len(nights)):
            sel = night_of == j
            local = np.column_stack([np.ones(sel.sum()), design[sel, -2:]])
            c_j, *_ = np.linalg.lstsq(local, z[sel], rcond=None)
            r_j = z[sel] - local @ c_j
            dof = max(int(sel.sum()) - 3, 1)
            night_sig[j] = max(float(np.sqrt(np.sum(r_j**2) / dof)), 1e-3)
        w = 1.0 / night_sig[night_of] ** 2
        keep = np.ones(len(z), bool)
        for _ in range(8):
            sw = np.sqrt(w[keep])
            coef, *_ = np.linalg.lstsq(design[keep] * sw[:, None], z[keep] * sw, rcond=None)
            r = z - design @ coef
            new = np.abs(r) <= 4.0 * night_sig[night_of]
            if np.array_equal(new, keep) or new.sum() < design.shape[1] + 2:
                break
            keep = new
        sig = float(np.median(night_sig))
        for j, nt in enumerate(nights):
            night_zp[(s, nt)] = float(coef[j])
        ext[s], drift[s] = float(coef[-2]), float(coef[-1])
        scatter[s] = sig
    return {"extinction": ext, "drift_per_hour": drift, "zp_scatter": scatter,
            "night_zp": night_zp, "night_mjd": night_mjd}
