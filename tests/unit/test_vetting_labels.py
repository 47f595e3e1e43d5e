"""Which vetting candidates count: the injected-S/N definition of a fair positive, and the
rates computed without the ambiguous ones."""

from __future__ import annotations

import numpy as np
import pytest

from models.vetting.dataset import MIN_INJECTED_SNR, Dataset
from models.vetting.evaluate import evaluate_scores
from site_node.edge.transients import CUTOUT, FEATURE_NAMES


def _dataset(label, inj_flux, flux_err) -> Dataset:
    n = len(label)
    label = np.asarray(label, np.int64)
    cand = {"stamps": np.zeros((n, 3, CUTOUT, CUTOUT), np.float16),
            "features": np.zeros((n, len(FEATURE_NAMES)), np.float32), "label": label,
            "snr": np.full(n, 8.0, np.float32), "hand_cuts": label == 1,
            "site": np.array(["la-palma"] * n), "night": np.zeros(n, np.int64),
            "frame": np.arange(n), "artefact": np.array(["none"] * n),
            "host": np.where(label == 1, 1, -1), "dmag": np.where(label == 1, -2.0, np.nan),
            "flux_err": np.asarray(flux_err, np.float32),
            "inj_flux": np.asarray(inj_flux, np.float32)}
    inj = {"inj_site": np.array(["la-palma"]), "inj_frame": np.zeros(1, np.int64),
           "inj_dmag": np.zeros(1, np.float32), "inj_host": np.zeros(1, np.int64),
           "inj_found": np.ones(1, bool), "inj_hand": np.ones(1, bool)}
    return Dataset(**cand, **inj)


def test_a_real_candidate_counts_only_when_its_injected_source_reaches_snr_5() -> None:
    # flux 100 ADU over noise 10 (S/N 10): fair; 30 over 10 (S/N 3, e.g. on a bright
    # star's residual): ambiguous; bogus candidates always count
    d = _dataset([1, 1, 0, 0], [100.0, 30.0, np.nan, np.nan], [10.0, 10.0, 5.0, 5.0])
    np.testing.assert_allclose(d.inj_snr[:2], [10.0, 3.0])
    assert d.ambiguous.tolist() == [False, True, False, False]
    honest = d.honest()
    assert honest.label.tolist() == [1, 0, 0]
    edge = _dataset([1], [MIN_INJECTED_SNR * 10.0], [10.0])
    assert not edge.ambiguous.any()


def test_rates_leave_out_the_ambiguous_reals_but_report_them() -> None:
    d = _dataset([1, 1, 1, 0, 0], [100.0, 100.0, 20.0, np.nan, np.nan], [10.0] * 5)
    p = np.array([0.9, 0.8, 0.1, 0.2, 0.05])   # only the ambiguous real is missed
    m = evaluate_scores(p, d, 0.5, p, 0.5)
    assert m["model"]["fnr"] == 0.0 and m["model"]["n_real"] == 2
    assert m["all_candidates"]["model"]["fnr"] == pytest.approx(1 / 3)
    assert m["ambiguous"]["n"] == 1 and m["ambiguous"]["model_accepts"] == 0.0
    assert m["ambiguous"]["fnr_by_inj_snr"]["0-3"]["fnr"] == 1.0


def test_field_items_count_from_an_offset_and_refuse_unknown_splits() -> None:
    from models.vetting.dataset import field_items

    assert field_items("train", 3, offset=1000) == [("train", 1000), ("train", 1001),
                                                    ("train", 1002)]
    with pytest.raises(ValueError, match="unknown split"):
        field_items("holdout", 1)
