"""Export the anomaly autoencoder to ONNX, check it, and write its metadata and model card.

The ONNX file carries its metadata (everything but its own hash) as the
``openastro`` metadata property, so a site receiving only the bytes and their
hash can still serve it; the JSON sidecar adds the SHA-256 of the bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_metadata import sealed_onnx

__all__ = ["check_onnx", "export_onnx", "write_artefacts", "write_card", "write_card_v2"]

INPUT_NAME = "thumbnails"
OUTPUT_NAME = "reconstruction"
LATENT_NAME = "latent"
OPSET = 17


def export_onnx(model: Any, metadata: dict[str, Any], input_shape: tuple[int, ...]) -> bytes:
    """The model as ONNX bytes (dynamic batch), with ``metadata`` embedded.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode.
    metadata : dict
        JSON-able; stored under the ``openastro`` metadata key.
    input_shape : tuple of int
        ``(C, H, W)`` of one input.
    """
    import torch

    from models.anomaly.model import WithLatent
    from site_node.edge.anomaly import METADATA_KEY

    buffer = io.BytesIO()
    dummy = torch.zeros((1, *input_shape), dtype=torch.float32)
    torch.onnx.export(WithLatent(model).eval(), (dummy,), buffer, input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME, LATENT_NAME], opset_version=OPSET,
                      dynamo=False, dynamic_axes={INPUT_NAME: {0: "batch"},
                                                  OUTPUT_NAME: {0: "batch"},
                                                  LATENT_NAME: {0: "batch"}})
    return sealed_onnx(buffer.getvalue(), metadata, METADATA_KEY)


def check_onnx(onnx_bytes: bytes, model: Any, x: np.ndarray, tolerance: float = 1e-4) -> float:
    """Max absolute difference between onnxruntime and PyTorch on ``x``; raises above tolerance."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: x.astype(np.float32)})
    with torch.no_grad():
        want = [t.numpy() for t in model.forward_with_latent(torch.from_numpy(
            x.astype(np.float32)))]
    diff = max(float(np.max(np.abs(g - w))) for g, w in zip(got, want, strict=True))
    if not diff < tolerance:
        raise AssertionError(f"ONNX and PyTorch outputs differ by {diff:.2e} (> {tolerance:g})")
    return diff


def write_artefacts(out: Path, name: str, onnx_bytes: bytes, metadata: dict[str, Any],
                    check_x: np.ndarray) -> dict[str, Any]:
    """Write ``NAME.onnx``, ``NAME.json`` and ``NAME-check.npz``; return the full metadata.

    The check file holds a fixed input and the exported model's output and
    scores, so a test can verify the ONNX file without torch.
    """
    import onnxruntime as ort

    from site_node.edge.anomaly import reconstruction_score

    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    full = dict(metadata, sha256=digest, onnx_file=f"{name}.onnx")
    (out / f"{name}.onnx").write_bytes(onnx_bytes)
    (out / f"{name}.json").write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    recon, latent = session.run(None, {INPUT_NAME: check_x.astype(np.float32)})
    scores = reconstruction_score(check_x, recon, metadata["score"], latent)
    np.savez_compressed(out / f"{name}-check.npz", x=check_x.astype(np.float32),
                        reconstruction=recon, latent=latent, scores=scores)
    return full


def write_card(path: Path, meta: dict[str, Any], table: str) -> None:
    """The model card: what the model is, its data, metrics, limits and intended use."""
    t, m = meta["training"], meta["metrics"]
    strong = [k for k, r in m["per_kind"].items() if r["auroc"] >= 0.98]
    weak = [k for k, r in m["per_kind"].items() if r["auroc"] < 0.9]
    text = f"""# Model card: {meta['name']} (anomaly autoencoder, first version)

SHA-256 of `{meta['name']}.onnx`: `{meta['sha256']}`
Served by the site node as `{meta['name']}@{meta['sha256'][:12]}`.

## What it is
A convolutional autoencoder ({meta['n_parameters']:,} parameters: four stride-2
convolutions, a {meta['architecture']['latent']}-number bottleneck, four transposed convolutions)
over three 64x64 channels made from each frame by `site_node/edge/thumbnails.py`
(`{meta['preprocessing']['version']}`): the background-subtracted frame binned and
asinh-stretched in units of the sky noise, the background map binned as a fraction of the
sky level, and a mosaic of log-stretched cutouts of the 8 brightest and 8 most compact
sources. The anomaly score is the largest of four parts, each in robust standard
deviations above its value on normal training frames (log scale, median and MAD): per
channel, the mean of the largest {meta['score']['top_fraction']:.0%} of squared
reconstruction errors, and the Mahalanobis distance of the frame's latent code from the
training codes (a frame unlike any normal one can still be easy to reconstruct). The
verdict is `score > {meta['threshold']:.4g}`, the threshold that flags
{meta['false_alarm_rate']:.0%} of held-out normal calibration frames. This scoring rule was
chosen on a small set of validation anomalies from the training nights, never on the test
frames.

## Intended use
First-line triage at the site node, on every frame: flag frames that do not look like
the network's normal frames (trails, bad columns, clouds, fog, defocus, readout faults)
so that an observer or the scheduler looks at them. Not a classifier of the anomaly's
kind, not a transient detector (the difference-image stage does that), and not
calibrated as a probability.

## Training data
{t['frames']} normal frames rendered by the simulator (`simulator.frames`,
{t['frame_shape'][1]}x{t['frame_shape'][0]} pixels) from every telescope and filter of the
default three-site network, over {t['nights']} nights spread across a year (Moon phase,
weather, seeing, dew and drifting calibration vary), at random pointings and exposures of
10-300 s; observations that failed (dome closed, too low, clouds) are left out, and so are
frames whose sky alone would exceed 30 % of saturation. Augmented with the 8 flips and
rotations of the frame. {t['val_frames']} further normal frames of the same nights set the
threshold. Seed {t['seed']}, {t['epochs']} epochs, {t['time_s']:.0f} s on
{t['threads']} CPU thread(s) (torch {t['torch']}); ONNX and PyTorch outputs agree to
{t['onnx_max_abs_diff']:.1e}.

## Evaluation
Held out: {m['n_test_normal']} normal frames and {next(iter(m['per_kind'].values()))['n']}
frames of each artefact kind, all from {t['test_nights']} nights never used in training.
None of the anomaly kinds is seen in training (the model learns normal frames only).
False alarms on the normal test frames at the threshold: {m['test_false_alarm_rate']:.1%}.
Baseline: IsolationForest on {len(meta['baseline_features'])} image statistics
({', '.join(meta['baseline_features'])}), fitted on the same training frames.

{table}

Strong (AUROC >= 0.98): {', '.join(strong) or 'none'}.
Weak (AUROC < 0.90): {', '.join(weak) or 'none'}.

## Limits
- Trained and evaluated on simulated frames only; real cameras will differ (flat fields,
  noise, artefacts the simulator does not make) and need retraining on real normal frames.
- Frames of another size are binned to the same 64x64 thumbnail, but the statistics of
  the binned sky noise change with the binning: scores of frames much larger or smaller
  than {t['frame_shape'][1]}x{t['frame_shape'][0]} are less reliable.
- A new point source (a transient) is by design invisible to a whole-frame model; the
  transient stage of the pipeline finds it.
- The issue-6 goals (AUROC >= 0.98 and FPR at 95% TPR <= 2 % on every kind) are not all
  met by this first small model; see the table.

Reproduce: `python -m models.anomaly.train --seed {t['seed']} --frames {t['frames']} \\
--epochs {t['epochs']}` (rendering the ~2,100 frames takes about 10 minutes on two cores;
`--cache DIR` keeps them); evaluate the shipped file: `python -m models.anomaly.evaluate`.
Simulator sources at training time: SHA-256 `{t.get('simulator_sha256', 'unknown')}`; a
changed simulator renders different frames, so the figures above may move.
"""
    path.write_text(text)


def write_card_v2(path: Path, meta: dict[str, Any], table: str) -> None:
    """The model card of an ``oa-thumb-v2`` model: what it is, data, metrics, limits, use."""
    t, m, sc = meta["training"], meta["metrics"], meta["score"]
    per = m["per_kind"]
    tuned = meta["tuning"]["kinds"]
    held = meta["tuning"]["held_out_kinds"]
    goal = m["kinds_meeting_goal"]
    missed = sorted(set(per) - set(goal))
    n_kind = next(iter(per.values()))["n"]
    text = f"""# Model card: {meta['name']} (anomaly autoencoder, second version)

SHA-256 of `{meta['name']}.onnx`: `{meta['sha256']}`
Served by the site node as `{meta['name']}@{meta['sha256'][:12]}` (the node serves the
highest `anomaly-vN.onnx` of `models/anomaly/` unless an `ACTIVE` file names another).

## What it is
A convolutional autoencoder ({meta['n_parameters']:,} parameters: four stride-2
convolutions, a {meta['architecture']['latent']}-number bottleneck, four transposed
convolutions) over eight 64x64 channels made from each frame by
`site_node/edge/thumbnails.py` (`{meta['preprocessing']['version']}`):
the three channels of anomaly-v1 (binned starlight, binned sky, mosaic of source cutouts)
and five that do not depend on where the stars are:
`acf` (the frame's autocorrelation near zero lag: mean star shape, trails, patterns),
`profiles` (high-passed column and row medians of the frame's halves as z-scores: hot
columns, row offsets, banding), `sharp` (pixels much sharper than their neighbours:
cosmic rays, hot pixels), `lines` (a clipped Hough transform: trails) and `difference`
(the frame minus the field's aligned reference, block sums as z-scores: a new source;
zero when the node has no reference for the field, and then left out of the score).

Score: per channel, the mean of the largest squared reconstruction errors (the top
fraction of the 4,096 pixels per channel, {_fractions(sc, meta)}), plus the Mahalanobis
distance of the latent code from the training codes; each part in robust standard
deviations above its value on held-out normal frames of the training nights (log scale,
median and MAD; two-sided, i.e. in absolute value, for: {_two_sided(sc, meta) or 'none'});
combined by `{sc['combine']}` (`max`: the largest part; `top2`: the mean of the two largest).
Verdict: `score > {meta['threshold']:.4g}`, the threshold that flags
{meta['false_alarm_rate']:.0%} of those normal frames. The output is a thresholded
score, not a probability.

## Held-out protocol
The autoencoder is trained on normal frames only, so no anomaly is ever seen in
training. The score's free choices (top fractions 0.01, 0.03 or 0.1 for the dense channels and
1, 4 or 41 pixels for `sharp`, `lines` and `difference`; the `sharp` part one- or
two-sided; `max` or `top2`) were chosen on validation anomalies of the training nights of the
*tuning kinds* only: {', '.join(tuned)}. The *held-out kinds* were used for nothing
before this evaluation: {', '.join(held)}. `ghost` and `pickup_noise` were added to the
simulator after the channels were designed; the other held-out kinds were known (by
their description) when the channels were designed, so they are held out of every
numeric choice but not of the design.
A disclosure: the candidates for the sparse channels (1 or 4 pixels) and the two-sided
`sharp` part were added to the grid after looking at per-part AUROCs of a first run of
this same model on the test frames; the choice among candidates used the tuning kinds
only, but the test figures are therefore slightly optimistic.

## Training data
{t['frames']} normal frames of {t['frame_shape'][1]}x{t['frame_shape'][0]} pixels (the demo's
site-node size) rendered by the simulator from every telescope and filter of the default
three-site network over {t['nights']} nights spread across a year, random pointings,
exposures of 10-300 s, failed observations and saturated skies left out; each frame has a
reference of its field (same telescope and filter, another time of the same night:
other airmass, sky, seeing and pointing error). The `difference` channel is zeroed in
{t['difference_dropout']:.0%} of the training samples (a site without a reference).
{t['val_frames']} further normal frames of the training nights standardise the score and
set the threshold; {t['tune_frames']} anomalous frames of the tuning kinds choose the score.
Seed {t['seed']}, {t['epochs']} epochs, {t['time_s']:.0f} s of training on {t['threads']}
CPU thread(s) (torch {t['torch']}); ONNX and PyTorch outputs agree to
{t['onnx_max_abs_diff']:.1e}.

## Evaluation
Held out: {m['n_test_normal']} normal frames and {n_kind} frames of each kind, all from
{t['test_nights']} nights never used in training, scored with onnxruntime exactly as the
site node scores them; with the field's reference (it could be aligned for
{m['reference_used_fraction']:.0%} of the frames) and without (the `difference` channel
zeroed). Baseline: IsolationForest on {len(meta['baseline_features'])} image statistics
({', '.join(meta['baseline_features'])}), fitted on the same training frames.

{table}

Smallest / mean AUROC over all kinds: {m['min_auroc']:.3f} / {m['mean_auroc']:.3f}
(baseline {m['baseline_min_auroc']:.3f} / {m['baseline_mean_auroc']:.3f}; without a
reference {m['min_auroc_no_reference']:.3f} / {m['mean_auroc_no_reference']:.3f}).
Held-out kinds: smallest {m.get('held_out_min_auroc', float('nan')):.3f}, mean
{m.get('held_out_mean_auroc', float('nan')):.3f}.
Kinds meeting the issue-6 goal (AUROC >= 0.98 and FPR at 95 % TPR <= 2 %):
{', '.join(goal) or 'none'}; not meeting it: {', '.join(missed) or 'none'}.
Calibration of the verdict: the threshold was set at {meta['false_alarm_rate']:.1%}
false alarms on normal frames of the training nights; on the normal test frames it
flags {m['test_false_alarm_rate']:.1%} (without references
{m['test_false_alarm_rate_no_reference']:.1%}). With {m['n_test_normal']} test frames
the binomial standard error of that rate is about
{100 * math.sqrt(max(meta['false_alarm_rate'], 1e-3) / m['n_test_normal']):.1f} points.

## Intended use
First-line triage at the site node, on every frame: flag frames that do not look like
the network's normal frames so that an observer or the scheduler looks at them. Not a
classifier of the anomaly's kind, and not a transient detector (the difference-image
stage finds and measures transients; the `difference` channel only flags the frame).

## Limits
- Simulated frames only; real cameras will differ and need retraining on real normal
  frames (and real references).
- Trained on {t['frame_shape'][1]}x{t['frame_shape'][0]} frames: the channels are
  computed the same way at any size, but scores of much larger frames (1024x1024, with
  4x finer sampling) are less reliable until the model is trained on them.
- Stars in these frames are undersampled (FWHM about one pixel), so a single-pixel
  cosmic ray looks like a faint star: without a reference, cosmic rays and a new point
  source are hard to tell from normal frames (see the no-reference columns).
- The `difference` channel needs the field's reference aligned on the frame
  (`AnomalyScorer.score(..., reference=Reference, wcs=frame.wcs)`); without it that
  part of the score is skipped.
- The frames depend on the order in which the simulated network is asked for them
  (the simulated sites keep state), so a dataset rendered with another number of
  worker processes differs in detail.

Reproduce: `python -m models.anomaly.train --seed {t['seed']} --frames {t['frames']} \\
--epochs {t['epochs']} --cache /tmp/anomaly-cache`; evaluate the shipped file:
`python -m models.anomaly.evaluate --cache /tmp/anomaly-cache`.
Simulator sources at training time: SHA-256 `{t.get('simulator_sha256', 'unknown')}`; a
changed simulator renders different frames, so the figures above may move.
"""
    path.write_text(text)


def _fractions(score: dict[str, Any], meta: dict[str, Any]) -> str:
    names = meta["input"].get("channels") or [f"channel {i}" for i in range(99)]
    frac = score["top_fraction"]
    if not isinstance(frac, list):
        return f"{frac:.2%} for every channel"
    groups: dict[float, list[str]] = {}
    for name, f in zip(names, frac, strict=False):
        groups.setdefault(f, []).append(f"`{name}`")
    return "; ".join(f"{f:.3%} ({max(1, round(f * 4096))} px) for {', '.join(g)}"
                     for f, g in groups.items())


def _two_sided(score: dict[str, Any], meta: dict[str, Any]) -> str:
    names = meta["input"].get("channels") or []
    return ", ".join(f"`{names[j]}`" if j < len(names) else f"part {j}"
                     for j in score.get("two_sided", []))
