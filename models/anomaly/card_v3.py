"""The model card of an anomaly-v3 model (multi-scale residual score, normal frames only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["write_card_v3"]


def _combine_text(score: dict[str, Any]) -> str:
    how = score["combine"]
    if how == "mahalanobis":
        return (": the Mahalanobis distance of the vector of normal scores from that of "
                "normal frames (mean and covariance fitted on the normal calibration frames, "
                "covariance shrunk halfway to its diagonal), so many parts that are each a "
                "little off (a trailed frame changes its cutouts, autocorrelation and sharp "
                "pixels together) add up, as does one part far off")
    if how.startswith("top"):
        return f" (the mean of the {how[3:]} largest normal scores)"
    return ""


def write_card_v3(path: Path, meta: dict[str, Any], table: str, extra: str = "") -> None:
    """Write ``card.md`` of a ``multiscale-residuals`` model; ``extra`` is appended
    (for example the AUROC-versus-strength table of :mod:`models.anomaly.strength`)."""
    t, m, sc = meta["training"], meta["metrics"], meta["score"]
    per = m["per_kind"]
    goal = m["kinds_meeting_goal"]
    missed = sorted(set(per) - set(goal))
    n_kind = next(iter(per.values()))["n"]
    n_res = sum(1 for p in sc["parts"] if p[0] == "res")
    raw = sorted({meta["input"]["channels"][int(p[1])] for p in sc["parts"] if p[0] == "raw"})
    scales = sorted({int(p[2]) for p in sc["parts"] if p[0] == "res"})
    text = f"""# Model card: {meta['name']} (anomaly autoencoder, third version)

SHA-256 of `{meta['name']}.onnx`: `{meta['sha256']}`
Served by the site node as `{meta['name']}@{meta['sha256'][:12]}` (the node serves the
highest `anomaly-vN.onnx` of `models/anomaly/` unless an `ACTIVE` file names another).
Earlier versions: [`card-v2.md`](card-v2.md), [`card-v1.md`](card-v1.md).

## What it is
The network and inputs of anomaly-v2: a convolutional autoencoder
({meta['n_parameters']:,} parameters, a {meta['architecture']['latent']}-number bottleneck)
over eight 64x64 channels made by `site_node/edge/thumbnails.py`
(`{meta['preprocessing']['version']}`: `light`, `sky`, `sources`, `acf`, `profiles`,
`sharp`, `lines`, `difference`), retrained with seed {t['seed']}.

What changed is the score (`{sc['method']}`, `site_node/edge/anomaly.py`). anomaly-v2
took, per channel, the mean of the largest squared residuals: a strong trail that the
network half reconstructs, or a faint but extended ring, drowned among the star
residuals every normal frame has. anomaly-v3 looks at each channel's residual
`(x - reconstruction) / channel_sd` (channel_sd: its RMS on normal frames) through
windows of {', '.join(f'{s}x{s}' for s in scales)} thumbnail pixels, in both directions
(the largest and minus the smallest window sum / side: a window of independent
unit-variance pixels keeps unit variance, so an extended faint offset adds up while one
bad pixel does not grow): {n_res} residual parts, plus the largest value of the input
`{'`, `'.join(raw) or 'none'}` channel (a trail's peak in the Hough map, however well
it is reconstructed) and the Mahalanobis distance of the latent code. Parts that are
constant on normal frames are dropped; {len(sc['parts'])} remain. Each part becomes a
normal score through its 101 quantiles on normal calibration frames (linear beyond
the largest, in units of the part's upper spread); the score combines them by
`{sc['combine']}`{_combine_text(sc)}. Verdict: `score > {meta['threshold']:.4g}`, set at
{meta['false_alarm_rate']:.0%} false alarms on normal frames: the quantile of a log-normal
fitted (median and MAD) to the scores of the normal calibration frames, each scored by
a score fitted on the others (10 folds), so that the one or two most extreme of 200
frames do not set it alone. The output is a
thresholded score, not a probability.

## Held-out protocol: no anomaly label anywhere
The network is trained on normal frames only, and every number of the score (channel
scales, part quantiles, threshold) is fitted on normal frames only. No anomalous frame
is used for training, calibration or any choice of anomaly-v3, so **every one of the
{len(per)} kinds is held out** (the leave-kinds-out check is automatic: each kind's row
below is a kind never seen). Disclosure: the form of the score (window sides, signed
parts, the raw `lines` part, the Mahalanobis combination and the log-normal threshold)
was chosen while looking at per-kind AUROCs, on these test frames, of anomaly-v2's
reconstructions and of a first anomaly-v3 (same network, `top3` combination), so the
figures are somewhat optimistic for the score's design (not for any fitted number).

## Training data
{t['frames']} normal frames of {t['frame_shape'][1]}x{t['frame_shape'][0]} pixels rendered by the
simulator from every telescope and filter of the default three-site network over
{t['nights']} nights spread across a year (random pointings, exposures of 10-300 s), each
with a reference of its field from another time of the same night; the `difference`
channel is zeroed in {t['difference_dropout']:.0%} of the training samples (a site without
a reference). {t['val_frames']} further normal frames of the training nights calibrate the
score and the threshold. Seed {t['seed']}, {t['epochs']} epochs, {t['time_s']:.0f} s of
training on {t['threads']} CPU thread(s) (torch {t['torch']}); ONNX and PyTorch outputs
agree to {t['onnx_max_abs_diff']:.1e}.

## Evaluation
Held out: {m['n_test_normal']} normal frames and {n_kind} frames of each kind, all from
{t['test_nights']} nights never used in training or calibration, scored with onnxruntime
exactly as the site node scores them; with the field's reference (aligned for
{m['reference_used_fraction']:.0%} of the frames) and without (the `difference` channel
zeroed). Baseline: IsolationForest on {len(meta['baseline_features'])} image statistics
({', '.join(meta['baseline_features'])}), fitted on the same training frames.

{table}

Smallest / mean AUROC over all kinds: {m['min_auroc']:.3f} / {m['mean_auroc']:.3f}
(baseline {m['baseline_min_auroc']:.3f} / {m['baseline_mean_auroc']:.3f}; without a
reference {m['min_auroc_no_reference']:.3f} / {m['mean_auroc_no_reference']:.3f}).
Kinds meeting the issue-6 goal (AUROC >= 0.98 and FPR at 95 % TPR <= 2 %):
{', '.join(goal) or 'none'}; not meeting it: {', '.join(missed) or 'none'}.
Every kind is held out, so the held-out goal (AUROC >= 0.95) applies to every row:
met by {sum(r['auroc'] >= 0.95 for r in per.values())} of {len(per)} kinds.
Calibration of the verdict: threshold set at {meta['false_alarm_rate']:.1%} false alarms on
normal frames of the training nights; on the normal test frames it flags
{m['test_false_alarm_rate']:.1%} (without references
{m['test_false_alarm_rate_no_reference']:.1%}); with {m['n_test_normal']} test frames the
binomial standard error of that rate is about
{100 * math.sqrt(max(meta['false_alarm_rate'], 1e-3) / m['n_test_normal']):.1f} points.
{extra}
## Why some kinds stay hard at 256 px
- Stars are undersampled (FWHM about one pixel), so a cosmic ray or a new point source
  looks like one more star; without a reference only their number or position can
  betray them, and the `difference` channel (Gaussian-smoothed block sums, 5 % of the
  light allowed as star error) dilutes a single point source.
- sep's 64-pixel background mesh leaves the vignetting and flat-field structure of
  a 256-pixel frame partly in the `light` channel, at the level of a ghost's
  0.5-2 noise sigma per pixel; the ghosts that stand out are the bright or ringed ones.
- `tracking` and `dew` change star shapes by about a pixel; the cutout mosaic sees it
  only for the brighter stars.

## Intended use
First-line triage at the site node, on every frame: flag frames that do not look like
the network's normal frames so that an observer or the scheduler looks at them. Not a
classifier of the anomaly's kind and not a transient detector.

## Limits
- Simulated frames only; real cameras need retraining on real normal frames.
- Trained on {t['frame_shape'][1]}x{t['frame_shape'][0]} frames; scores of much larger frames
  are less reliable until the model is trained on them.
- The `difference` parts need the field's reference aligned on the frame; without it
  they are skipped.

Reproduce: `python -m models.anomaly.train --seed {t['seed']} --frames {t['frames']} \\
--epochs {t['epochs']} --cache /tmp/anomaly-cache`; evaluate the shipped file:
`python -m models.anomaly.evaluate --cache /tmp/anomaly-cache`.
Simulator sources at training time: SHA-256 `{t.get('simulator_sha256', 'unknown')}`.
"""
    path.write_text(text)


STRENGTH_INTRO = """
## AUROC against strength (the kinds near chance)
`ghost` and `new_source` score near chance, so they were injected at controlled
strengths into the first 40 normal test frames (after rendering, so stars, sky and
reference stay the same) and scored against all 150 normal test frames
(`python -m models.anomaly.strength --kind ghost|new_source --cache DIR`). With no
anomaly at all those 40 frames score AUROC {zero:.2f} against the 150 (they happen to
score a little lower), so that, not 0.5, is the level of "invisible". The simulator's
own strengths were not changed: ghosts are 0.5-2 sky-noise sigma per pixel, new
sources SNR 80-3000.
"""

STRENGTH_OUTRO = """
A ghost becomes visible to the model from about 4 sigma per pixel (AUROC 0.91; 0.96 at
8 sigma): at the simulator's 0.5-2 sigma it is below the frame-to-frame variation of the
large-scale structure that sep's 64-pixel background mesh leaves in a 256-pixel frame.
A new point source is not seen at any signal-to-noise: in a 256-pixel frame it is one
more star about a pixel wide, and the `difference` channel of `oa-thumb-v2` cannot
single it out (a block's z-score is capped at 1 / star_error = 20 because the new
source's own light enters the star-error term, the cap of any 5 % star-subtraction
residual; and the WCS-only alignment leaves residuals of bright stars in normal frames
that reach the same level). That needs a change of the preprocessing
(`site_node/edge/thumbnails.py::difference`), not of the autoencoder.
"""


def main(argv: list[str] | None = None) -> int:
    """Rewrite ``card.md`` of the shipped anomaly-v3 from its JSON, with strength tables."""
    import argparse
    import json

    from models.anomaly.evaluate import markdown_table

    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.anomaly.card_v3",
                                description="Rewrite the anomaly-v3 model card.")
    p.add_argument("--models", type=Path, default=here)
    p.add_argument("--name", default="anomaly-v3")
    p.add_argument("--strength", type=Path, nargs="*", default=[],
                   help="outputs of python -m models.anomaly.strength (Markdown tables)")
    p.add_argument("--zero", type=float, default=0.5,
                   help="AUROC of the injected frames with no anomaly (see the card)")
    args = p.parse_args(argv)
    meta = json.loads((args.models / f"{args.name}.json").read_text())
    extra = ""
    if args.strength:
        extra = STRENGTH_INTRO.format(zero=args.zero)
        for path in args.strength:
            extra += "\n" + path.read_text().strip() + "\n"
        extra += STRENGTH_OUTRO
    write_card_v3(args.models / "card.md", meta, markdown_table(meta["metrics"]), extra)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
