"""The model card of the vetting model (``card.md``), written from its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_card"]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


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
        (f"**Model.** A braai-like CNN ({meta['parameters']:,} parameters): two conv blocks over "
        f"{meta['cutout']}x{meta['cutout']} cutouts of the new frame, the aligned flux-scaled "
        "reference and the difference (in difference-noise units, asinh-stretched), joined with "
        f"{len(meta['feature_names'])} scalar features ({', '.join(meta['feature_names'])}); "
        "feature standardisation and the calibration temperature "
        f"(T = {meta['temperature']:.3f}) are inside the ONNX graph."),
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
        f"Training sites: {', '.join(tr['train_sites'])}; nights {tr['nights']}. "
        f"Test: other nights, all sites, a third at {tr['held_out_site']} (never seen). "
        f"Candidates: train {tr['n_train']}, val {tr['n_val']}, test {tr['n_test']}."),
        "",
        f"**Training.** Seed {tr['seed']}, {tr['epochs']} epochs (best validation epoch "
        f"{tr['best_epoch']}), AdamW + one-cycle, BCE, flips/rotations; CPU, one thread"
        + (f"; rendering {tr['seconds']['data']:.0f} s, training {tr['seconds']['train']:.0f} s"
           if "seconds" in tr else "") + ". Temperature scaling on the validation nights.",
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
        ("- A transient on a saturated star or a bad column is counted real but cannot be told "
        "from the residual it sits in; such cases are rare in the test set."),
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
