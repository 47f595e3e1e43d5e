"""The anomaly scorer at the site: the shipped model, hashes, hot swap, and what it flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from site_node.edge.anomaly import AnomalyScorer, ModelRejected, ModelSlot, sha256_hex
from site_node.edge.pipeline import EdgePipeline, default_models_dir, find_model

MODELS = Path(__file__).resolve().parents[2] / "models" / "anomaly"
ONNX = MODELS / "anomaly-v1.onnx"
V2 = MODELS / "anomaly-v2.onnx"
V3 = MODELS / "anomaly-v3.onnx"


def _variant(onnx_bytes: bytes, note: str) -> bytes:
    """The same model with one more metadata entry (protobuf field 14): a new hash."""

    def varint(n: int) -> bytes:
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    key, value = b"note", note.encode()
    entry = b"\x0a" + varint(len(key)) + key + b"\x12" + varint(len(value)) + value
    return onnx_bytes + b"\x72" + varint(len(entry)) + entry


def test_the_node_serves_v3_by_default() -> None:
    assert default_models_dir() == MODELS
    assert find_model(MODELS) == V3          # the highest anomaly-vN.onnx
    assert EdgePipeline().model_id.startswith("anomaly-v3@")


@pytest.mark.parametrize("onnx", [ONNX, V2, V3], ids=["v1", "v2", "v3"])
def test_shipped_model_is_found_and_matches_its_metadata(onnx: Path) -> None:
    meta = json.loads(onnx.with_suffix(".json").read_text())
    assert meta["sha256"] == sha256_hex(onnx.read_bytes())
    scorer = AnomalyScorer.from_files(onnx)
    assert scorer.model_id == f"{onnx.stem}@{meta['sha256'][:12]}"
    assert scorer.spec.shape == tuple(meta["input"]["shape"][1:])
    assert onnx.stat().st_size < 5_000_000


@pytest.mark.parametrize("onnx", [ONNX, V2, V3], ids=["v1", "v2", "v3"])
def test_shipped_model_reproduces_its_checked_in_output(onnx: Path) -> None:
    check = np.load(MODELS / f"{onnx.stem}-check.npz")
    scorer = AnomalyScorer.from_files(onnx)
    np.testing.assert_allclose(scorer.reconstruct(check["x"]), check["reconstruction"],
                               atol=1e-5)
    np.testing.assert_allclose(scorer.score_inputs(check["x"]), check["scores"], rtol=1e-4)


@pytest.mark.parametrize("onnx", [ONNX, V2, V3], ids=["v1", "v2", "v3"])
def test_every_shipped_model_follows_the_metadata_contract(onnx: Path) -> None:
    meta = json.loads(onnx.with_suffix(".json").read_text())
    assert meta["name"] == onnx.stem and meta["version"] == onnx.stem.rsplit("-", 1)[1]
    assert meta["sha256"] == sha256_hex(onnx.read_bytes())
    assert isinstance(meta["metrics"], dict)
    promo = meta["promotion_metric"]
    assert promo["name"] == "min_auroc_per_kind" and promo["higher_is_better"] is True
    assert promo["value"] == pytest.approx(min(r["auroc"]
                                               for r in meta["metrics"]["per_kind"].values()))


def test_v3_used_no_anomaly_label_and_beats_v2() -> None:
    v2 = json.loads(V2.with_suffix(".json").read_text())
    v3 = json.loads(V3.with_suffix(".json").read_text())
    assert v3["score"]["method"] == "multiscale-residuals"
    assert v3["tuning"]["kinds"] == [] and v3["training"]["tune_frames"] == 0
    assert sorted(v3["tuning"]["held_out_kinds"]) == sorted(v3["metrics"]["per_kind"])
    assert v3["promotion_metric"]["value"] > v2["promotion_metric"]["value"]
    assert v3["metrics"]["mean_auroc"] > v3["metrics"]["baseline_mean_auroc"]


def test_v2_metadata_follows_the_model_contract() -> None:
    meta = json.loads(V2.with_suffix(".json").read_text())
    assert meta["name"] == "anomaly-v2" and meta["version"] == "v2"
    promo = meta["promotion_metric"]
    assert promo["name"] == "min_auroc_per_kind" and promo["higher_is_better"] is True
    assert promo["value"] == pytest.approx(meta["metrics"]["min_auroc"])
    assert set(meta["tuning"]["kinds"]).isdisjoint(meta["tuning"]["held_out_kinds"])
    assert meta["preprocessing"]["version"] == "oa-thumb-v2"


def test_hash_mismatch_is_rejected_and_the_old_model_stays() -> None:
    onnx_bytes = ONNX.read_bytes()
    slot = ModelSlot(AnomalyScorer.from_files(ONNX))
    before = slot.current.model_id
    wrong = "0" * 64
    with pytest.raises(ModelRejected) as exc:
        slot.deploy(onnx_bytes, wrong)
    assert wrong in str(exc.value) and sha256_hex(onnx_bytes) in str(exc.value)
    assert slot.current.model_id == before
    meta = json.loads(ONNX.with_suffix(".json").read_text())
    with pytest.raises(ModelRejected, match="SHA-256 mismatch"):
        AnomalyScorer(_variant(onnx_bytes, "tampered"), meta)
    with pytest.raises(ModelRejected, match="not a loadable ONNX"):
        slot.deploy(b"not a model", sha256_hex(b"not a model"))
    assert slot.current.model_id == before


def test_hot_swap_changes_the_model_without_restart(tmp_path: Path) -> None:
    from site_node.edge.synthetic import synthetic_frame

    shutil.copy(ONNX, tmp_path)
    shutil.copy(ONNX.with_suffix(".json"), tmp_path)
    pipeline = EdgePipeline(tmp_path)
    hdul, _ = synthetic_frame(shape=(256, 256), n_stars=50, seed=1)
    first = pipeline.analyze(hdul).anomaly_model
    assert first.startswith("anomaly-v1@")
    new = _variant(ONNX.read_bytes(), "retrained")
    model_id = pipeline.deploy_model("anomaly-v2", new, sha256_hex(new))  # embedded metadata
    assert model_id == f"anomaly-v2@{sha256_hex(new)[:12]}"
    assert pipeline.analyze(hdul).anomaly_model == model_id != first
    # persisted: a restarted node serves the deployed model
    assert (tmp_path / "ACTIVE").read_text() == "anomaly-v2"
    assert EdgePipeline(tmp_path).model_id == model_id
    with pytest.raises(ModelRejected):
        pipeline.deploy_model("../evil", new, sha256_hex(new))


@pytest.fixture(scope="module")
def scored_frames() -> dict[str, list[float]]:
    from site_node.edge.synthetic import simulated_frame

    pipeline = EdgePipeline()          # serves anomaly-v3, trained on 256 x 256 frames
    scores: dict[str, list[float]] = {"normal": [], "satellite": []}
    for seed, seeing in ((1, 0.9), (2, 1.2), (3, 1.6)):
        scores["normal"].append(pipeline.analyze(
            simulated_frame(seed=seed, seeing_arcsec=seeing, shape=(256, 256))).anomaly_score)
    for seed in (4, 5):
        scores["satellite"].append(pipeline.analyze(
            simulated_frame(seed=seed, seeing_arcsec=1.2, artefacts=("satellite",),
                            shape=(256, 256))).anomaly_score)
    return scores


def test_satellite_trails_score_higher_than_normal_frames(scored_frames) -> None:
    assert min(scored_frames["satellite"]) > max(scored_frames["normal"])


def test_normal_frames_are_not_flagged(scored_frames) -> None:
    threshold = json.loads(V3.with_suffix(".json").read_text())["threshold"]
    assert max(scored_frames["normal"]) <= threshold


# ---- oa-thumb-v2: channels that do not depend on where the stars are ----------------

def _noise(seed: int = 0, n: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, n)).astype(np.float32)


def _stars(n: int = 256, count: int = 60, sigma: float = 1.2, seed: int = 1,
           offset: tuple[float, float] = (0.0, 0.0), extra: tuple = ()) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n]
    img = np.zeros((n, n), np.float32)
    pos = rng.uniform(10, n - 10, (count, 2))
    flux = rng.uniform(50, 2000, count)
    for (x, y), f in zip(pos, flux, strict=True):
        for dx, dy, frac in ((0.0, 0.0, 1.0), *extra):
            img += (f * frac / (2 * np.pi * sigma**2) * np.exp(
                -((xx - x - dx - offset[0]) ** 2 + (yy - y - dy - offset[1]) ** 2)
                / (2 * sigma**2))).astype(np.float32)
    return img


def test_profiles_show_a_hot_column_and_ignore_noise() -> None:
    from site_node.edge.thumbnails import profiles

    s = _noise()
    quiet = profiles(s, 64)
    s[128:, 100] += 3.0              # a column 3 sigma hot in the bottom half
    hot = profiles(s, 64)
    assert np.abs(quiet).max() < 0.6
    assert hot[16:32, 25].min() > 1.0          # bottom-half column band, bin of column 100
    assert np.abs(hot[:16]).max() < 0.6        # the top half is untouched


def test_sharp_pixels_count_cosmic_rays_not_stars() -> None:
    from site_node.edge.thumbnails import sharp_pixels

    s = _noise() + _stars()
    stars_only = np.sinh(2 * sharp_pixels(s, 64)).sum()
    rng = np.random.default_rng(5)
    ys, xs = rng.integers(2, 254, 40), rng.integers(2, 254, 40)
    s[ys, xs] += 200.0
    with_hits = np.sinh(2 * sharp_pixels(s, 64)).sum()
    assert stars_only < 3
    assert with_hits - stars_only >= 35


def test_line_map_finds_a_faint_trail_among_stars() -> None:
    from site_node.edge.thumbnails import line_map

    s = _noise() + _stars()
    quiet = np.sinh(3 * line_map(s, 64)).max() * 3
    yy, xx = np.mgrid[0:256, 0:256]
    s += 4.0 * np.exp(-0.5 * ((0.5 * xx - yy + 60) / 0.8) ** 2).astype(np.float32)
    trail = np.sinh(3 * line_map(s, 64)).max() * 3
    assert quiet < 12.0
    assert trail > 2 * quiet, (trail, quiet)


def test_autocorrelation_shows_doubled_stars() -> None:
    from site_node.edge.thumbnails import autocorrelation

    single = autocorrelation(_noise() + _stars(), 64)
    double = autocorrelation(_noise() + _stars(extra=((6.0, 0.0, 0.7),)), 64)
    assert double[32, 32 + 6] > single[32, 32 + 6] + 0.2   # a side peak at the jump
    assert double[32, 32 + 6] > double[32 + 6, 32] + 0.2   # only along the jump


def test_difference_shows_a_new_source_and_is_zero_without_reference() -> None:
    from site_node.edge.thumbnails import difference

    ref = _noise(1) + _stars(offset=(0.3, -0.2))
    new = _noise(2) + _stars()
    same = np.sinh(3 * difference(new, 1.0, ref, None, 64)) * 3
    yy, xx = np.mgrid[0:256, 0:256]
    new += (3000 / (2 * np.pi * 1.44) * np.exp(-((xx - 70) ** 2 + (yy - 190) ** 2) / 2.88)
            ).astype(np.float32)
    found = np.sinh(3 * difference(new, 1.0, ref, None, 64)) * 3
    assert np.abs(same).max() < 6.0
    assert found[190 // 4, 70 // 4] > 10.0
    assert not difference(new, 1.0, None, None, 64).any()


def test_v2_input_has_eight_channels_and_v1_is_unchanged() -> None:
    from site_node.edge.thumbnails import THUMB_V2, ThumbnailSpec, model_input

    data = 1000.0 + _noise() * 10 + _stars() * 10
    image = data - 1000.0
    objects = np.zeros(0, dtype=[("x", "f8"), ("y", "f8"), ("flux", "f8"), ("peak", "f8"),
                                 ("snr", "f8"), ("saturated", "?")])
    x2 = model_input(data, image, 1000.0, 10.0, objects, gain=2.0, spec=THUMB_V2)
    x1 = model_input(data, image, 1000.0, 10.0, objects, gain=2.0)
    assert x2.shape == (8, 64, 64) and x1.shape == (3, 64, 64)
    np.testing.assert_array_equal(x2[:3], x1)
    assert not x2[THUMB_V2.channels.index("difference")].any()
    assert ThumbnailSpec.from_dict(THUMB_V2.to_dict()) == THUMB_V2
    with pytest.raises(ValueError, match="unsupported preprocessing"):
        ThumbnailSpec.from_dict({"version": "oa-thumb-v9"})


def test_a_missing_optional_channel_is_left_out_of_the_score() -> None:
    from site_node.edge.anomaly import reconstruction_score

    x = np.zeros((2, 2, 8, 8), np.float32)
    x[:, 0] = 1.0
    x[0, 1] = 1.0                      # frame 0 has the optional channel, frame 1 not
    recon = np.zeros_like(x)
    score = {"top_fraction": 1.0, "optional_channels": [1], "combine": "max"}
    got = reconstruction_score(x, recon, score)
    assert got[0] == pytest.approx(1.0) and got[1] == pytest.approx(1.0)
    x[0, 1] = 5.0
    assert reconstruction_score(x, recon, score)[0] == pytest.approx(25.0)


@pytest.fixture(scope="module")
def new_source_scores() -> dict[str, float]:
    """v2 scores of one field with and without a new source, with and without its reference."""
    from site_node.edge.frame import load_frame
    from site_node.edge.references import Reference
    from site_node.edge.sources import extract_sources
    from site_node.edge.synthetic import simulated_frame

    scorer = AnomalyScorer.from_files(V2)

    def prepared(hdul):
        frame = load_frame(hdul)
        return frame, extract_sources(frame.data, mask=frame.mask, gain=frame.gain,
                                      saturate=frame.saturate)

    ref_frame, ref_ext = prepared(simulated_frame(seed=21, seeing_arcsec=1.3, shape=(256, 256)))
    reference = Reference(image=ref_ext.image, header=ref_frame.wcs.to_header(relax=True),
                          fwhm_px=1.0, zero_point=None, exptime=60.0, rms=ref_ext.rms)
    out = {}
    for kind in ("normal", "new_source"):
        frame, ext = prepared(simulated_frame(
            seed=22, seeing_arcsec=1.0, shape=(256, 256),
            artefacts=() if kind == "normal" else ("new_source",)))
        args = (frame.data, ext.image, ext.background, ext.rms, ext.objects)
        kw = {"gain": frame.gain, "read_noise_e": frame.read_noise}
        out[kind] = scorer.score(*args, **kw).score
        out[f"{kind}+reference"] = scorer.score(*args, **kw, reference=reference,
                                                wcs=frame.wcs).score
    out["threshold"] = scorer.threshold
    return out


def test_the_fields_reference_raises_the_score_of_a_new_source(new_source_scores) -> None:
    s = new_source_scores
    assert s["normal+reference"] < s["threshold"]
    # the reference adds to the new source's score, not to the normal frame's ...
    assert s["new_source+reference"] - s["new_source"] > 0.1
    assert abs(s["normal+reference"] - s["normal"]) < 0.05
    # ... but not yet enough to flag it (model card: new_source AUROC 0.60 with references)
    assert s["new_source+reference"] < s["threshold"]
