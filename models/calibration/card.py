"""The model card of the site calibration and site-invariant classifier (Markdown)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_card"]


def _fmt(v: float) -> str:
    return f"{v:+.4f}"


def write_card(path: Path, meta: dict[str, Any], rows: list[tuple[str, ...]]) -> None:
    """Write ``card.md`` from the metadata written next to the ONNX file and the table."""
    m, t = meta["metrics"], meta["training"]
    d = m["domain"]
    lines = [
        f"# {meta['name']}: site calibration and a site-invariant classifier",
        "",
        "Two things learned from simulated data of the three demo sites (Cerro Pachon,",
        "La Palma, Hanle): each site's photometric effects, and a star/galaxy classifier",
        "whose features are made site-invariant by an MMD penalty, so that it keeps its",
        "accuracy at a site whose labels it never saw.",
        "",
        "## Metrics (held-out data)",
        "",
        "| model | metric | baseline | ours | goal |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
        f"SHA-256 of `{meta['onnx_file']}`: `{meta['sha256']}`.",
        (f"Promotion metric: `{meta['promotion_metric']['name']}` = "
        f"{meta['promotion_metric']['value']:.2f} (higher is better)."),
        "",
        "## Photometric calibration (numpy, `network_fit.py`, `photometric.py`)",
        "",
        "Joint weighted least squares over all sites, nights and frames: a free zero point",
        "per frame, per site a colour term and a flat (degree-4 polynomial plus a 12x12",
        "bilinear star flat), 4-sigma clipping; then per site night zero points, extinction",
        "and drift from the frames' zero points (nights weighted by their own scatter, so",
        "cloudy nights barely count). Learned against the simulator's truth (band r):",
        "",
        "| site | colour term (true) | extinction mag/airmass (true) | drift mag/h (true) |",
        "|---|---|---|---|",
    ]
    for s, e in meta["site_calibration"]["sites"].items():
        lines.append(f"| {s} | {_fmt(e['colour_term'])} ({_fmt(e['colour_term_true'])}) | "
                     f"{e['extinction']:.4f} ({e['extinction_true']:.4f}) | "
                     f"{_fmt(e['drift_per_hour'])} ({_fmt(e['drift_per_hour_true'])}) |")
    cs = m["cross_site"]
    lines += [
        "",
        (f"Target stars (a fixed quarter, never fitted): {cs['network']['n_targets']}, "
        f"{cs['network']['n_pairs']} site pairs. Nightly fits not converged (cirrus "
        f"nights): {cs['nightly']['nights_not_converged']}."),
        "",
        "## Site-invariant classifier (PyTorch -> ONNX)",
        "",
        f"A 3-layer CNN ({meta['n_parameters']:,} parameters) over 25x25 cutouts at each",
        "telescope's native pixel scale (channel 0 the source, channel 1 a bright star of",
        "the same frame: its PSF) gives 32 features and P(galaxy). Loss = binary",
        f"cross-entropy + lambda ({d['lambda']:g}) x mean MMD^2 between the sites' feature",
        "batches (off for the first 30 % of training, then ramped up; fixed kernel",
        "bandwidths, since data-scaled ones let the features collapse). Leave-one-site-out:",
        "the held-out site's",
        "training images enter only unlabelled (as the MMD target); in-site accuracy is",
        "that of the same network trained with every site's labels.",
        "",
        "| held-out site | in-site | unseen, lambda=0 | unseen, with MMD |",
        "|---|---|---|---|",
    ]
    for s, row in d["loso"].items():
        lines.append(f"| {s} | {row['in_site_accuracy']:.1f} % | "
                     f"{d['loso_lambda0'][s]['unseen_accuracy']:.1f} % | "
                     f"{row['unseen_accuracy']:.1f} % |")
    sh = m["shipped"]
    lines += [
        "",
        (f"Shipped model (all three sites, temperature {sh['temperature']:.2f} from validation"
        f" cutouts): accuracy {sh['accuracy']:.1f} %, ECE {sh['ece']:.3f}; reliability"),
        f"diagram `{meta['name']}-reliability.png`.",
        "",
        "## Training data",
        "",
        f"Seed {t['seed']}; {t['nights']} nights x {t['frames_per_night']} frames per site",
        "of matched catalogue stars (`simulate.py`: the simulator's zero point, colour",
        "term, flat field, dew and drift, photon noise, 10 mmag catalogue errors, cirrus",
        f"every third night); {t['cutouts_per_site']} training cutouts per site",
        "(`cutouts.py`, half stars, half Sersic galaxies of 0.4-3 arcsec, r 16-19.5, each",
        "with a bright star of the same exposure as a second channel showing the PSF),",
        f"{t['epochs']} epochs; {t['time_s']:.0f} s on {t['threads']} thread(s).",
        "",
        "## Intended use and limits",
        "",
        "- Calibration: per-site priors (colour term, extinction, flat) for",
        "  `fit_site_calibration`, and the network fit for survey-wide photometry. The",
        "  star photometry is drawn from the simulator's truth, not measured on rendered",
        "  images: aperture-correction, crowding and background errors are absent, so",
        "  real agreement will be worse than the figures above.",
        "- Classifier: cutouts centred on a detected source, 25x25 native pixels, plus a",
        "  bright isolated star of the same frame; trained on simulated stars and smooth",
        "  Sersic galaxies only (no blends, no artefacts, no galaxies under 0.4 arcsec).",
        "  Its domain term needs unlabelled images of a new site to align it. With the",
        "  PSF star as input the task is already nearly site-invariant without the",
        "  domain term (compare the lambda=0 column): the MMD term's gain is not",
        "  significant and the adversarial (DANN) term hurts (see the study above).",
        "- Simulated data only; all figures are on the simulator's truth.",
    ]
    text = "\n".join(lines) + "\n"
    study = _study_block(path)
    if study:     # the leave-one-site-out study (domain_study.py) survives a retrain
        text = text.replace("## Training data\n", f"{study}\n\n## Training data\n", 1)
    path.write_text(text)


def _study_block(path: Path) -> str:
    """The card's leave-one-site-out study section, if it has one ("" if not)."""
    from models.calibration.domain_study import CARD_BEGIN, CARD_END

    old = path.read_text() if path.exists() else ""
    if CARD_BEGIN not in old or CARD_END not in old:
        return ""
    return CARD_BEGIN + old.split(CARD_BEGIN, 1)[1].split(CARD_END, 1)[0] + CARD_END
