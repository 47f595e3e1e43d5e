"""Does the domain term help? Leave-one-site-out over seeds, with lambda chosen blind.

``python -m models.calibration.domain_study run --seed S [--augment] [--methods mmd,dann]
[--epochs 4] [--inner-epochs 4] [--train-used 800] [--test-used 2000] [--out DIR]``
``python -m models.calibration.domain_study summarise DIR [--card card.md]``

(The card's figures: ``--out models/calibration/domain-study``, seeds 0-2, with and
without ``--augment``; see ``card.md``.)

``run`` (one seed: its own data and initialisation) measures, for the three sites:

* the domain shift: each site's pixel scale, delivered FWHM (arcsec and pixels), sky,
  and how well a logistic regression tells the sites apart from the features of a
  network trained on all of them (chance 33 %);
* in-site accuracy per site: a network trained with every site's labels (lambda 0);
* per held-out site T: unseen-site accuracy of networks trained on the other two sites'
  labels with lambda 0, and with each domain term (``mmd``, ``dann``; T's training images
  as unlabelled target), whose lambda is chosen from a grid on *inner folds that never
  see T*: with sources A and B, train on A with B unlabelled and score on B's
  validation cutouts, and the other way round (batch 32: one site gives as many steps
  as two in the outer runs); the lambda with the best mean wins.
  Also how separable T's features are from the sources' (logistic regression, 2-fold,
  chance 50 %): what the domain term is meant to shrink.

``summarise`` reads every ``domain-study-seed*.json`` in DIR and prints mean +- sd over
seeds of in-site and unseen accuracy and of the gap, per fold and overall, for each
method and feature setting (plain / augmented).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.calibration.cutouts import CutoutSet, site_cutouts

__all__ = ["CARD_BEGIN", "CARD_END", "card_section", "load_split", "main", "run_seed",
           "separability", "summarise", "update_card"]

CARD_BEGIN = "<!-- domain-study: begin (python -m models.calibration.domain_study) -->"
CARD_END = "<!-- domain-study: end -->"

SITES = ("cerro-pachon", "la-palma", "hanle")
GRIDS = {"mmd": (1.0, 10.0), "dann": (0.3, 1.0)}
"""lambda candidates per domain term (chosen per seed and fold on inner folds)."""


def load_split(seed: int, n_train: int, n_val: int, n_test: int,
               cache: Path | None = None) -> tuple[dict[str, CutoutSet], ...]:
    """Train, validation and test cutouts per site for data seed ``seed`` (the same
    simulation seeds as :mod:`models.calibration.train`), cached as .npz in ``cache``."""
    s0 = 1000 * seed
    out: tuple[dict[str, CutoutSet], ...] = ({}, {}, {})
    for d, site in enumerate(SITES):
        for split, n, off in zip(out, (n_train, n_val, n_test), (2, 3, 4), strict=True):
            path = cache / f"{site}-{n}-{s0 + off}.npz" if cache is not None else None
            if path is not None and path.exists():
                with np.load(path) as z:
                    split[site] = CutoutSet(*(z[k] for k in ("x", "label", "domain", "mag",
                                                             "fwhm", "r_eff")))
                continue
            split[site] = site_cutouts(site, d, n=n, seed=s0 + off)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                c = split[site]
                np.savez(path, x=c.x, label=c.label, domain=c.domain, mag=c.mag,
                         fwhm=c.fwhm, r_eff=c.r_eff)
    return out


def separability(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """2-fold cross-validated accuracy (%) of a logistic regression telling feature rows
    ``a`` from ``b`` (equal numbers of each drawn; 50 % = indistinguishable)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    n = min(len(a), len(b))
    x = np.concatenate([a[rng.permutation(len(a))[:n]], b[rng.permutation(len(b))[:n]]])
    y = np.repeat([0, 1], n)
    fold = rng.permutation(2 * n) % 2
    right = 0
    for k in (0, 1):
        tr, te = fold != k, fold == k
        scaler = StandardScaler().fit(x[tr])
        clf = LogisticRegression(max_iter=500).fit(scaler.transform(x[tr]), y[tr])
        right += int(np.sum(clf.predict(scaler.transform(x[te])) == y[te]))
    return 100.0 * right / (2 * n)


def _site_shift(model: Any, test: dict[str, CutoutSet]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    from control_center.network import load_network
    from models.calibration.domain import predict
    from models.calibration.simulate import telescope_for

    net = load_network()
    out: dict[str, Any] = {"sites": {}}
    for site in SITES:
        s, c = net.site(site), test[site]
        scale = telescope_for(s, "r").pixel_scale_arcsec
        stars = c.x[c.label == 0, 0]
        out["sites"][site] = {
            "pixel_scale_arcsec": scale,
            "median_seeing_arcsec": s.climate.median_seeing_arcsec,
            "vibration_arcsec": s.effects.vibration_arcsec,
            "dark_sky_v_mag_arcsec2": s.climate.dark_sky_v_mag_arcsec2,
            "dew": s.effects.dew_onset_local_hour is not None,
            "fwhm_arcsec_median": float(np.median(c.fwhm)),
            "fwhm_px_median": float(np.median(c.fwhm / scale)),
            "star_peak_median": float(np.median(stars[:, 12, 12])),
        }
    feats = np.concatenate([predict(model, test[s])[1] for s in SITES])
    site = np.concatenate([np.full(len(test[s]), k) for k, s in enumerate(SITES)])
    x = StandardScaler().fit_transform(feats)
    clf = LogisticRegression(max_iter=1000)
    out["site_from_features_accuracy"] = 100.0 * float(np.mean(cross_val_score(
        clf, x, site, cv=3)))
    return out


def _unseen(model: Any, held: str, test: dict[str, CutoutSet]) -> dict[str, float]:
    from models.calibration.domain import accuracy, predict

    prob, f_held = predict(model, test[held])
    f_src = np.concatenate([predict(model, test[s])[1] for s in SITES if s != held])
    return {"unseen_accuracy": accuracy(prob, test[held].label),
            "separability": separability(f_held, f_src)}


def _select(method: str, grid: tuple[float, ...], sources: list[str],
            train: dict[str, CutoutSet], val: dict[str, CutoutSet], *, seed: int,
            epochs: int, augment: bool, tick: Any) -> tuple[float, dict[str, float]]:
    from models.calibration.domain import accuracy, predict, train_classifier

    scores = {}
    for lam in grid:
        accs = []
        for a, b in ((sources[0], sources[1]), (sources[1], sources[0])):
            m = train_classifier(train[a], lam=lam, seed=seed, epochs=epochs, target=train[b],
                                 method=method, augment=augment, batch=32)
            accs.append(accuracy(predict(m, val[b])[0], val[b].label))
            tick()
        scores[f"{lam:g}"] = float(np.mean(accs))
    best = max(grid, key=lambda lam: (scores[f"{lam:g}"], -lam))
    return best, scores


def run_seed(seed: int, *, augment: bool, epochs: int, inner_epochs: int, n_train: int,
             n_test: int, methods: tuple[str, ...] = ("mmd", "dann"),
             grids: dict[str, tuple[float, ...]] | None = None, cache: Path | None = None,
             progress: Any = None, partial: Path | None = None,
             train_used: int | None = None, test_used: int | None = None,
             chosen: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """The whole study for one seed (see the module docstring); a JSON-able dict
    (also written to ``partial`` after every fold, when given).

    ``n_train``/``n_test`` cutouts per site are rendered (and cached); the first
    ``train_used``/``test_used`` of them are used (default all). ``chosen`` (held-out site
    -> method -> lambda, from another seed's inner folds) skips the lambda selection."""
    import torch

    from models.calibration.domain import accuracy, predict, train_classifier

    grids = grids or GRIDS
    t0 = time.monotonic()
    train, val, test = load_split(seed, n_train, max(n_train // 2, 32), n_test, cache)
    for split, used in ((train, train_used), (val, train_used and train_used // 2),
                        (test, test_used)):
        for s in SITES:
            if used and used < len(split[s]):
                split[s] = split[s].take(np.arange(used))
    n_runs = 1 + len(SITES) * (1 + sum(1 + (0 if chosen else 2 * len(grids[m]))
                                       for m in methods))
    task = progress.add_task(f"seed {seed}", total=n_runs) if progress is not None else None

    def tick() -> None:
        if progress is not None:
            progress.advance(task)

    torch.manual_seed(seed)
    everyone = train_classifier(CutoutSet.join([train[s] for s in SITES]), lam=0.0, seed=seed,
                                epochs=epochs, augment=augment)
    tick()
    in_site = {s: accuracy(predict(everyone, test[s])[0], test[s].label) for s in SITES}
    result: dict[str, Any] = {
        "seed": seed, "augment": augment, "epochs": epochs, "inner_epochs": inner_epochs,
        "n_train": len(train[SITES[0]]), "n_test": len(test[SITES[0]]),
        "grids": {m: list(grids[m]) for m in methods}, "lambda_from_other_seed": bool(chosen),
        "shift": _site_shift(everyone, test), "in_site": in_site, "folds": {}}
    for held in reversed(SITES):                 # the hardest fold (Hanle) first
        sources = [s for s in SITES if s != held]
        source = CutoutSet.join([train[s] for s in sources])
        plain = train_classifier(source, lam=0.0, seed=seed, epochs=epochs, augment=augment)
        tick()
        fold: dict[str, Any] = {"lambda0": _unseen(plain, held, test)}
        for method in methods:
            if chosen:
                lam, scores = chosen[held][method], {}
            else:
                lam, scores = _select(method, grids[method], sources, train, val, seed=seed,
                                      epochs=inner_epochs, augment=augment, tick=tick)
            model = train_classifier(source, lam=lam, seed=seed, epochs=epochs,
                                     target=train[held], method=method, augment=augment)
            tick()
            fold[method] = {**_unseen(model, held, test), "lambda": lam, "inner_scores": scores}
        result["folds"][held] = fold
        if partial is not None:
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(result, indent=1))
    result["time_s"] = round(time.monotonic() - t0, 1)
    return result


def _mean_sd(v: list[float]) -> str:
    a = np.asarray(v, float)
    sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{a.mean():.2f} +- {sd:.2f}"


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sd over seeds per feature setting, method and held-out site.

    Returns ``{setting: {"n_seeds", "seeds", "in_site": {site: [..]}, "unseen": {method:
    {site: [..]}}, "gap": {method: {site: [..], "mean": [..], "worst": [..]}}, "gain":
    {method: {site: [..], "mean": [..]}}, ...}}`` (lists over seeds; ``mean``/``worst``
    over folds within a seed; ``gain`` = unseen accuracy minus lambda 0's, paired by
    seed and fold)."""
    out: dict[str, Any] = {}
    for setting in ("plain", "augmented"):
        rs = sorted((r for r in results if r["augment"] == (setting == "augmented")),
                    key=lambda r: r["seed"])
        if not rs:
            continue
        methods = ["lambda0", *rs[0]["grids"]]
        s: dict[str, Any] = {"n_seeds": len(rs), "seeds": [r["seed"] for r in rs],
                             "in_site": {t: [r["in_site"][t] for r in rs] for t in SITES},
                             "unseen": {}, "gap": {}, "separability": {}, "lambda": {},
                             "gain": {}}
        for m in methods:
            s["unseen"][m] = {t: [r["folds"][t][m]["unseen_accuracy"] for r in rs]
                              for t in SITES}
            s["unseen"][m]["mean"] = [float(np.mean([r["folds"][t][m]["unseen_accuracy"]
                                                     for t in SITES])) for r in rs]
            gaps = {t: [r["in_site"][t] - r["folds"][t][m]["unseen_accuracy"] for r in rs]
                    for t in SITES}
            s["gap"][m] = {**gaps, "mean": [float(np.mean(g)) for g in zip(*gaps.values(),
                                                                         strict=True)],
                           "worst": [float(max(g)) for g in zip(*gaps.values(), strict=True)]}
            s["separability"][m] = {t: [r["folds"][t][m]["separability"] for r in rs]
                                    for t in SITES}
            if m != "lambda0":
                s["lambda"][m] = {t: [r["folds"][t][m]["lambda"] for r in rs] for t in SITES}
                s["gain"][m] = {t: [u - v for u, v in zip(s["unseen"][m][t],
                                                          s["unseen"]["lambda0"][t],
                                                          strict=True)]
                                for t in (*SITES, "mean")}
        s["site_from_features"] = [r["shift"]["site_from_features_accuracy"] for r in rs]
        s["shift_sites"] = rs[0]["shift"]["sites"]
        out[setting] = s
    return out


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    for setting, s in summary.items():
        table = Table(title=f"leave-one-site-out, {setting} inputs, {s['n_seeds']} seeds "
                            f"{s['seeds']} (mean +- sd over seeds, %)")
        for col in ("held-out site", "in-site", *[f"unseen {m}" for m in s["unseen"]],
                    *[f"gap {m}" for m in s["gap"]]):
            table.add_column(col)
        for t in (*SITES, "mean", "worst"):
            ins = _mean_sd(s["in_site"][t]) if t in SITES else (
                _mean_sd([float(np.mean(v)) for v in zip(*s["in_site"].values(), strict=True)])
                if t == "mean" else "")
            uns = [_mean_sd(s["unseen"][m][t]) if t in s["unseen"][m] else ""
                   for m in s["unseen"]]
            table.add_row(t, ins, *uns, *[_mean_sd(s["gap"][m][t]) for m in s["gap"]])
        console.print(table)
        sep = Table(title=f"{setting}: held-out site's features vs the sources' "
                          "(logistic regression accuracy %, 50 = aligned); chosen lambda")
        for col in ("held-out site", *s["separability"], *[f"lambda {m}" for m in s["lambda"]]):
            sep.add_column(col)
        for t in SITES:
            sep.add_row(t, *[_mean_sd(s["separability"][m][t]) for m in s["separability"]],
                        *[str(s["lambda"][m][t]) for m in s["lambda"]])
        console.print(sep)
        for m, g in s["gain"].items():
            console.print(f"{m} minus lambda 0, unseen accuracy (points, paired): " + ", ".join(
                f"{t} {_mean_sd(v)}" for t, v in g.items()))
        console.print(f"site from all-site features (chance 33 %): "
                      f"{_mean_sd(s['site_from_features'])}")


def _ms(v: list[float], digits: int = 1) -> str:
    a = np.asarray(v, float)
    sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {sd:.{digits}f}"


def card_section(summary: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """Markdown lines of the study for the model card (between :data:`CARD_BEGIN` and
    :data:`CARD_END`)."""
    names = {"lambda0": "λ=0", "mmd": "MMD", "dann": "DANN"}
    lines = [CARD_BEGIN, "", "### Leave-one-site-out study: does the domain term help?", "",
             ("; ".join(f"`python -m models.calibration.domain_study run --seed S {a}`"
                        for a in config["args"])
              + " for S = " + ", ".join(str(x) for x in config["seeds"])
              + ", then `summarise models/calibration/domain-study --card models/calibration/card.md` (the per-seed results are kept there). "
              f"{config['n_train']} training and {config['n_test']} test cutouts per site, "
              f"{config['epochs']} epochs; λ of each domain term chosen per seed and fold "
              f"from {config['grids']} on inner folds without the test site "
              f"({config['inner_epochs']} epochs). Mean ± sd over seeds; gap = in-site "
              "minus unseen-site accuracy, in points."), ""]
    plain = summary.get("plain")
    if plain is not None:
        sh = plain["shift_sites"]
        lines += ["The shift between sites (simulator truth of the test cutouts):", "",
                  ("| site | pixel scale | median seeing | delivered FWHM | FWHM (px) | "
                   "vibration | dark sky V | dew |"), "|---|---|---|---|---|---|---|---|"]
        for t in SITES:
            e = sh[t]
            lines.append(f"| {t} | {e['pixel_scale_arcsec']:.2f}\" | "
                         f"{e['median_seeing_arcsec']:.1f}\" | "
                         f"{e['fwhm_arcsec_median']:.2f}\" | {e['fwhm_px_median']:.2f} | "
                         f"{e['vibration_arcsec']:.2f}\" | {e['dark_sky_v_mag_arcsec2']:.1f} | "
                         f"{'yes' if e['dew'] else 'no'} |")
        lines += ["", (f"A logistic regression names the site from the features of a network "
                       f"trained on all three with {_ms(plain['site_from_features'])} % "
                       "accuracy (chance 33 %): the shift is real in what the network sees."),
                  ""]
    for setting, s in summary.items():
        methods = list(s["unseen"])
        lines += [f"**{setting} inputs** ({s['n_seeds']} seeds"
                  + (", random rotations/flips in training" if setting == "augmented" else "")
                  + ")", "",
                  "| held-out site | in-site | " + " | ".join(
                      f"unseen {names[m]}" for m in methods) + " | " + " | ".join(
                      f"gap {names[m]}" for m in methods) + " |",
                  "|---" * (2 + 2 * len(methods)) + "|"]
        for t in (*SITES, "mean", "worst"):
            ins = (_ms(s["in_site"][t]) if t in SITES else _ms(
                [float(np.mean(v)) for v in zip(*s["in_site"].values(), strict=True)])
                if t == "mean" else "")
            uns = [_ms(s["unseen"][m][t]) if t in s["unseen"][m] else "" for m in methods]
            gaps = [_ms(s["gap"][m][t]) for m in methods]
            lines.append(f"| {t} | {ins} | " + " | ".join(uns) + " | " + " | ".join(gaps)
                         + " |")
        lines += ["", "Held-out site's features vs the sources' (logistic regression "
                  "accuracy %, 50 = indistinguishable)" + (" and chosen λ" if s["lambda"]
                                                            else "") + ":", "",
                  "| held-out site | " + " | ".join(names[m] for m in s["separability"])
                  + "".join(f" | λ {names[m]}" for m in s["lambda"]) + " |",
                  "|---" * (1 + len(s["separability"]) + len(s["lambda"])) + "|"]
        for t in SITES:
            lines.append(f"| {t} | " + " | ".join(_ms(s["separability"][m][t])
                                                   for m in s["separability"])
                         + "".join(" | " + ", ".join(f"{v:g}" for v in s["lambda"][m][t])
                                   for m in s["lambda"]) + " |")
        lines.append("")
        for m, g in s["gain"].items():
            lines.append(f"{names[m]} minus λ=0, unseen-site accuracy, paired by seed and "
                         "fold (points): " + "; ".join(f"{t} {_ms(v, 2)}" for t, v in g.items())
                         + ".")
        lines.append("")
    return [*lines, *config.get("conclusion", []), "", CARD_END]


def update_card(card: Path, section: list[str]) -> None:
    """Replace the study section of ``card`` (or append it); nothing else changes."""
    text = card.read_text() if card.exists() else ""
    block = "\n".join(section)
    if CARD_BEGIN in text and CARD_END in text:
        head, _, rest = text.partition(CARD_BEGIN)
        _, _, tail = rest.partition(CARD_END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    card.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.calibration.domain_study",
                                description="Leave-one-site-out study of the domain term.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="one seed: data, in-site, lambda selection, unseen")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--augment", action="store_true", help="random rotations/flips")
    r.add_argument("--epochs", type=int, default=8)
    r.add_argument("--inner-epochs", type=int, default=None,
                   help="epochs of the lambda-selection runs (default --epochs)")
    r.add_argument("--cutouts", type=int, default=2400, help="training cutouts per site")
    r.add_argument("--test", type=int, default=4800, help="test cutouts per site")
    r.add_argument("--train-used", type=int, default=None,
                   help="use only the first N rendered training cutouts per site")
    r.add_argument("--test-used", type=int, default=None,
                   help="use only the first N rendered test cutouts per site")
    r.add_argument("--lambdas-from", type=Path, default=None,
                   help="a seed's result JSON: reuse its chosen lambdas (no selection)")
    r.add_argument("--methods", default="mmd,dann")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--cache", type=Path, default=None, help="cutout cache directory")
    r.add_argument("--out", type=Path, default=Path("."))
    r.add_argument("--quick", action="store_true", help="a toy-size run (seconds)")
    s = sub.add_parser("summarise", help="mean +- sd over the seeds' JSON files")
    s.add_argument("dir", type=Path)
    s.add_argument("--card", type=Path, default=None,
                   help="also write the study section into this model card")
    s.add_argument("--conclusion", type=Path, default=None,
                   help="a Markdown file appended to the card section (the reading of it; "
                        "default DIR/conclusion.md if it exists)")
    args = p.parse_args(argv)
    if args.command == "summarise":
        files = sorted(args.dir.glob("domain-study-seed*.json"))
        if not files:
            p.error(f"no domain-study-seed*.json in {args.dir}")
        summary = summarise([json.loads(f.read_text()) for f in files])
        (args.dir / "domain-study-summary.json").write_text(json.dumps(summary, indent=1))
        _print_summary(summary)
        if args.card is not None:
            full = [json.loads(f.read_text()) for f in files]
            if args.conclusion is None and (args.dir / "conclusion.md").exists():
                args.conclusion = args.dir / "conclusion.md"
            first = max(full, key=lambda r: len(r["grids"]))
            config = {"seeds": sorted({r["seed"] for r in full}),
                      "n_train": first["n_train"], "n_test": first["n_test"],
                      "epochs": first["epochs"], "inner_epochs": first["inner_epochs"],
                      "grids": max((r["grids"] for r in full), key=len),
                      "args": sorted({r.get("args", "") for r in full}),
                      "conclusion": args.conclusion.read_text().splitlines()
                      if args.conclusion is not None else []}
            update_card(args.card, card_section(summary, config))
        return 0
    import torch
    from rich.progress import Progress

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if args.quick:
        args.epochs, args.inner_epochs, args.cutouts, args.test = 1, 1, 64, 64
    methods = tuple(m for m in args.methods.split(",") if m)
    unknown = set(methods) - set(GRIDS)
    if unknown:
        p.error(f"unknown method(s) {sorted(unknown)}; known: {sorted(GRIDS)}")
    tag = "-aug" if args.augment else ""
    path = args.out / f"domain-study-seed{args.seed}{tag}.json"
    chosen = None
    if args.lambdas_from is not None:
        prior = json.loads(args.lambdas_from.read_text())["folds"]
        chosen = {t: {m: prior[t][m]["lambda"] for m in methods} for t in SITES}
    with Progress() as bar:
        result = run_seed(args.seed, augment=args.augment, epochs=args.epochs,
                          inner_epochs=args.inner_epochs or args.epochs, n_train=args.cutouts,
                          n_test=args.test, methods=methods, cache=args.cache, progress=bar,
                          partial=args.out / f"partial-seed{args.seed}{tag}.json",
                          train_used=args.train_used, test_used=args.test_used, chosen=chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    method_arg = ",".join(methods) or '""'
    result["args"] = " ".join(
        [*(["--augment"] if args.augment else []), f"--methods {method_arg}",
         f"--epochs {args.epochs}", f"--inner-epochs {args.inner_epochs or args.epochs}",
         f"--cutouts {args.cutouts}", f"--test {args.test}",
         *([f"--train-used {args.train_used}"] if args.train_used else []),
         *([f"--test-used {args.test_used}"] if args.test_used else [])])
    path.write_text(json.dumps(result, indent=1))
    _print_summary(summarise([result]))
    print(f"wrote {path} in {result['time_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
