"""The model card of the vetting model (``card.md``), written from its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_card"]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _views(views: int) -> str:
    return "" if views <= 1 else f", each scoring {views} flips/rotations of the cutouts"


def write_card(path: Path, meta: dict[str, Any], history: list[tuple[int, float, float]]) -> None:
    """Write ``card.md`` for the model described by ``meta`` (its JSON metadata)."""
    m = meta["metrics"]
    mod, hand, rf = m["model"], m["hand_cuts"], m["random_forest"]
    bd, hb = m["model_breakdown"], m["hand_cuts_breakdown"]
    tr = meta["training"]
    name = f"{meta['name']}-{meta['version']}"
    lines = [
        f"# Model card: {name} (real/bogus vetting of transient candidates)",
        "",
        ("**What it does.** At the site node, every source of the difference image "
        "(new frame minus the field's reference, `site_node/edge/transients.py::search_candidates`)"
        " above SNR 5 is scored by this model: `real_bogus` is the calibrated probability that "
        "it is a real new point source; `vetted` is `real_bogus >= threshold` "
        f"(threshold {meta['threshold']:.4f}, chosen on the validation nights at equal "
        "false-negative and false-positive rates). Only vetted candidates are reported as "
        "transients; the rejected ones stay in the frame result (`rejected_transients`) with "
        "their score. Served by `site_node/edge/vetting.py` (onnxruntime + numpy)."),
        "",
        (f"**Model.** The mean logit of {meta['architecture'].get('members', 1)} braai-like "
        f"CNNs (different seeds){_views(meta['architecture'].get('views', 1))} "
        f"({meta['parameters']:,} parameters in all): two conv "
        "blocks over "
        f"{meta['cutout']}x{meta['cutout']} cutouts of the new frame, the aligned flux-scaled "
        "reference and the difference (in difference-noise units, asinh-stretched), joined with "
        f"{len(meta['feature_names'])} scalar features ({', '.join(meta['feature_names'])}); "
        "feature standardisation and the calibration (Platt: temperature "
        f"T = {meta['temperature']:.3f}, bias {meta.get('bias', 0.0):+.3f}) are inside the "
        "ONNX graph."),
        "",
        ("**Data** (`models/vetting/dataset.py`, simulator only). "
        f"Fields: {tr['fields']}; each a reference and two new frames on different nights "
        "(seeing, sky, exposure, PSF shape all differ), 1024x1024 as the simulated backend "
        "renders them. Real: 6-16 injected point sources per new frame, 5.5 mag above to "
        "0.3 mag below the frame's 5-sigma limit, on galaxies, on stars and on sky. Bogus: "
        "everything else the difference produces: bright/saturated star residuals, PSF "
        "mismatch, dipoles (30 % of new frames with a ~0.4 px WCS error), natural cosmic rays, "
        "and artefacts in some new frames (cosmic-ray showers, hot pixels/columns, satellite "
        "and aircraft trails, tracking errors, bad readout), plus edge effects. "
        + (f"Plus {tr['coarse_fields']} more training fields rendered at "
           f"{tr['coarse_shape'][0]}x{tr['coarse_shape'][1]}: the same fields of view in "
           "coarser pixels (1.9-2.7 arcsec), so that undersampled stars, as at a wide-field "
           "site, are in training without training on the held-out site. "
           if tr.get("coarse_fields") else "")
        + "The training fields draw more of the hardest kinds (tracking errors 12 %, satellite "
        "trails 10 %, bad readout 6 %; `TRAIN_ARTEFACT_MIX`), validation and test the "
        "node's usual mix. "
        f"Training sites: {', '.join(tr['train_sites'])}; nights {tr['nights']}. "
        f"Test: other nights, all sites, a third at {tr['held_out_site']} (never seen). "
        f"Candidates: train {tr['n_train']}, val {tr['n_val']}, test {tr['n_test']}."),
        "",
        ("**Labels.** A candidate is real within max(1.5, 0.7 FWHM) px of an injected source, "
        "bogus farther than 2 FWHM + 3 px from every one (dropped in between); a real one "
        "counts (training, threshold and rates) only when the injected source alone reaches "
        "S/N 5 in the difference (its true flux over the candidate's noise, which includes "
        "the residual floor of any star under it), as a labelled set of real detections "
        "would: fainter matches were detected thanks to noise or a residual, their label is "
        "not supported by the data (`Dataset.ambiguous`, reported separately below)."),
        "",
        f"**Training.** Seed {tr['seed']}, {tr['epochs']} epochs (best validation epoch "
        f"{tr['best_epoch']}), AdamW + one-cycle, BCE, a random flip/rotation per cutout; "
        "CPU, one thread"
        + (f"; rendering {tr['seconds']['data']:.0f} s, training {tr['seconds']['train']:.0f} s"
           if "seconds" in tr else "")
        + (f" ({tr['networks_from_cache']} network(s) and the rendered candidates from the "
           "cache: rendering all fields takes about 30 minutes on two busy cores, training "
           "both networks about 9 minutes at once, ~3.5 CPU-minutes each)"
           if tr.get("networks_from_cache") else "") + ". Platt scaling and the threshold on the validation "
        "nights.",
        "",
        "## Held-out results (test nights and sites)",
        "",
        "| metric | hand cuts (`find_transients`) | random forest (scalar features) | this model |",
        "|---|---|---|---|",
        (f"| false-negative rate (real rejected) | {_pct(hand['fnr'])} | {_pct(rf['fnr'])} | "
        f"{_pct(mod['fnr'])} |"),
        (f"| false-positive rate (bogus kept) | {_pct(hand['fpr'])} | {_pct(rf['fpr'])} | "
        f"{_pct(mod['fpr'])} |"),
        (f"| max(FNR, FPR) (promotion metric, goal <= 2 %) | {_pct(hand['max_fnr_fpr'])} | "
        f"{_pct(rf['max_fnr_fpr'])} | {_pct(mod['max_fnr_fpr'])} |"),
        f"| AUROC | - | {rf['auroc']:.4f} | {mod['auroc']:.4f} |",
        (f"| expected calibration error (15 bins, goal <= 0.05) | - | {rf['ece']:.4f} | "
        f"{mod['ece']:.4f} |"),
        f"| candidates real / bogus | {mod['n_real']} / {mod['n_bogus']} | | |",
        "",
    ]
    allc, amb, prev = m.get("all_candidates"), m.get("ambiguous"), m.get("previous")
    if prev:
        lines += [(f"Previous model {prev['model']} on the same candidates: FNR "
                  f"{_pct(prev['fnr'])}, FPR {_pct(prev['fpr'])}, max "
                  f"{_pct(prev['max_fnr_fpr'])}, ECE {prev['ece']:.4f} (ambiguous counted "
                  f"real: max {_pct(prev['all_candidates']['max_fnr_fpr'])})."), ""]
    if allc and amb:
        lines += [(f"Ambiguous real candidates (injected S/N < 5): {amb['n']}; the model accepts "
                  f"{_pct(amb['model_accepts'])}, the hand cuts {_pct(amb['hand_cuts_accept'])}. "
                  "Counting them real anyway, max(FNR, FPR) is "
                  f"{_pct(allc['model']['max_fnr_fpr'])} (FNR {_pct(allc['model']['fnr'])}) "
                  f"for this model, {_pct(allc['random_forest']['max_fnr_fpr'])} for the "
                  f"random forest and {_pct(allc['hand_cuts']['max_fnr_fpr'])} for the hand "
                  "cuts."), ""]
    lines += [
        f"Reliability diagram: [`{name}-reliability.png`]({name}-reliability.png).",
        "",
        "| breakdown | hand cuts | this model |",
        "|---|---|---|",
    ]
    for site, v in bd["by_site"].items():
        hv = hb["by_site"][site]
        tag = " (held-out site)" if v["held_out"] else ""
        lines.append(f"| FNR / FPR at {site}{tag} | {_pct(hv['fnr'])} / {_pct(hv['fpr'])} | "
                     f"{_pct(v['fnr'])} / {_pct(v['fpr'])} |")
    for kind, v in bd["fpr_by_artefact"].items():
        lines.append(f"| FPR, new frames with {kind} (n={v['n']}) | "
                     f"{_pct(hb['fpr_by_artefact'][kind]['fpr'])} | {_pct(v['fpr'])} |")
    for host, v in bd["fnr_by_host"].items():
        lines.append(f"| FNR, transients on {host} (n={v['n']}) | "
                     f"{_pct(hb['fnr_by_host'][host]['fnr'])} | {_pct(v['fnr'])} |")
    for b, v in bd["fnr_by_snr"].items():
        lines.append(f"| FNR, SNR {b} (n={v['n']}) | {_pct(hb['fnr_by_snr'][b]['fnr'])} | "
                     f"{_pct(v['fnr'])} |")
    for a in meta.get("validation_ablation", []):
        lines.append(f"| validation nights: {a['members']} network(s) x {a['views']} view(s), "
                     f"AUROC {a['auroc']:.4f} | - | max(FNR, FPR) {_pct(a['max_fnr_fpr'])} at "
                     "its best threshold |")
    for b, v in (amb or {}).get("fnr_by_inj_snr", {}).items():
        tag = " (ambiguous, not in the rates)" if b.startswith(("0-", "3-")) else ""
        lines.append(f"| FNR, injected S/N {b} (n={v['n']}){tag} | - | {_pct(v['fnr'])} |")
    for b, v in bd["fnr_by_dmag"].items():
        lines.append(f"| FNR, magnitude - limit {b} (n={v['n']}) | "
                     f"{_pct(hb['fnr_by_dmag'][b]['fnr'])} | {_pct(v['fnr'])} |")
    lines += ["", ("Injected sources that became a candidate at all (the difference's own "
              "detection limit, before any vetting), by magnitude minus the frame's 5-sigma "
              "limit:"), "", ("| mag - limit | injected | candidate | candidate passing the "
              "hand cuts |"), "|---|---|---|---|"]
    for b, v in bd["detected_by_dmag"].items():
        lines.append(f"| {b} | {v['n']} | {_pct(v['candidate'])} | {_pct(v['hand_cuts'])} |")
    lines += [
        "",
        "## Limits",
        "",
        ("- Simulated data only: the simulator's PSFs, artefacts and noise. Real frames will "
        "have bogus kinds it does not render (ghosts, diffraction spikes, asteroids, "
        "variable stars, crosstalk); retrain with labelled site data before trusting the rates."),
        ("- Rates are per candidate above SNR 5; a transient fainter than the difference's "
        "detection limit never becomes a candidate (table above)."),
        ("- A transient on a saturated star or a bright star's residual is usually below "
        "S/N 5 on its own (the residual floor): it is ambiguous, counted neither way."),
        ("- The threshold balances FNR and FPR; a site wanting fewer false alarms can raise it "
        "(the probabilities are calibrated)."),
        "",
        ("Commands: `python -m models.vetting.train --seed 0` (rendering cached in "
        "`/tmp/vetting-cache`), `python -m models.vetting.evaluate` (shipped ONNX through the "
        "node's `VettingModel`)."),
        "",
        "Training curve (epoch, train loss, val loss): "
        + ", ".join(f"({e}, {a:.4f}, {b:.4f})" for e, a, b in history),
        "",
    ]
    path.write_text("\n".join(lines))
