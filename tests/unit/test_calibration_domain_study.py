"""The adversarial domain term, the rotation/flip augmentation and the leave-one-site-out
study (toy size)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.calibration.cutouts import CutoutSet, site_cutouts
from models.calibration.domain_study import SITES, separability, summarise

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def toy() -> dict[str, CutoutSet]:
    return {s: site_cutouts(s, d, n=128, seed=11) for d, s in enumerate(SITES)}


def test_dihedral_moves_source_and_psf_star_together_and_is_seeded():
    from models.calibration.domain import dihedral

    x = torch.arange(2 * 2 * 5 * 5, dtype=torch.float32).reshape(2, 2, 5, 5).repeat(16, 1, 1, 1)
    x[:, 1] = x[:, 0] * 2.0                       # channel 1 a function of channel 0
    out = dihedral(x, torch.Generator().manual_seed(3))
    again = dihedral(x, torch.Generator().manual_seed(3))
    assert torch.equal(out, again)
    assert torch.equal(out[:, 1], out[:, 0] * 2.0)      # same symmetry on both channels
    seen = set()
    for img, orig in zip(out[:, 0], x[:, 0], strict=True):
        cands = [torch.rot90(orig, k, dims=(0, 1)) for k in range(4)]
        cands += [torch.flip(c, dims=(1,)) for c in cands]
        match = [i for i, c in enumerate(cands) if torch.equal(img, c)]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) >= 5                          # several of the 8 symmetries are drawn


def test_train_classifier_rejects_unknown_method_and_negative_lambda(toy):
    from models.calibration.domain import train_classifier

    with pytest.raises(ValueError, match="method must be one of"):
        train_classifier(toy["hanle"], lam=1.0, seed=0, epochs=1, method="coral")
    with pytest.raises(ValueError, match="lam must be >= 0"):
        train_classifier(toy["hanle"], lam=-1.0, seed=0, epochs=1)


def test_gradient_reversal_is_identity_forward_and_flips_the_gradient():
    from models.calibration.domain import _reverse_gradient

    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = _reverse_gradient()(x, 0.7)
    assert torch.equal(y, x.detach())
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.7, -1.4, -2.1]))


def test_adversarial_training_steers_the_features_and_still_classifies(toy):
    from models.calibration.domain import accuracy, predict, train_classifier

    torch.set_num_threads(1)
    source = CutoutSet.join([toy["cerro-pachon"], toy["la-palma"]])
    plain = train_classifier(source, lam=0.0, seed=0, epochs=3, batch=32)
    adapted = train_classifier(source, lam=1.0, seed=0, epochs=3, batch=32,
                               target=toy["hanle"], method="dann")
    again = train_classifier(source, lam=1.0, seed=0, epochs=3, batch=32,
                             target=toy["hanle"], method="dann")
    f_plain, f_adapted = predict(plain, toy["hanle"])[1], predict(adapted, toy["hanle"])[1]
    assert np.array_equal(f_adapted, predict(again, toy["hanle"])[1])    # seeded
    assert not np.allclose(f_plain, f_adapted, atol=1e-3)               # the term acts
    prob, feats = predict(adapted, source)
    assert feats.shape == (256, 32) and accuracy(prob, source.label) > 70.0


def test_separability_is_chance_for_one_distribution_and_high_for_two():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 4)), rng.normal(size=(400, 4))
    assert 40 < separability(a, b) < 60
    assert separability(a, b + 1.5) > 90


def _fake(seed: int, augment: bool, unseen: dict[str, float]) -> dict:
    in_site = {"cerro-pachon": 99.0, "la-palma": 98.0, "hanle": 94.0}
    fold = {t: {"lambda0": {"unseen_accuracy": unseen[t], "separability": 80.0},
                "mmd": {"unseen_accuracy": unseen[t] + 0.5, "separability": 60.0,
                        "lambda": 1.0}} for t in SITES}
    return {"seed": seed, "augment": augment, "grids": {"mmd": [1.0, 10.0]},
            "in_site": in_site, "folds": fold,
            "shift": {"site_from_features_accuracy": 70.0, "sites": {}}}


def test_summary_gives_gaps_per_fold_and_over_seeds():
    rs = [_fake(0, False, {"cerro-pachon": 98.0, "la-palma": 97.0, "hanle": 90.0}),
          _fake(1, False, {"cerro-pachon": 99.0, "la-palma": 98.0, "hanle": 92.0}),
          _fake(0, True, {"cerro-pachon": 99.0, "la-palma": 98.0, "hanle": 93.0})]
    s = summarise(rs)
    assert set(s) == {"plain", "augmented"} and s["plain"]["n_seeds"] == 2
    assert s["plain"]["gap"]["lambda0"]["hanle"] == [4.0, 2.0]
    assert s["plain"]["gap"]["mmd"]["hanle"] == [3.5, 1.5]
    assert s["plain"]["gain"]["mmd"]["hanle"] == [0.5, 0.5]        # paired with lambda 0
    assert s["plain"]["gap"]["lambda0"]["worst"] == [4.0, 2.0]
    assert s["plain"]["gap"]["lambda0"]["mean"] == pytest.approx([2.0, 2 / 3])
    assert s["augmented"]["unseen"]["mmd"]["mean"] == pytest.approx([291.5 / 3])


def test_study_run_and_summarise_write_their_files(tmp_path, capsys):
    from models.calibration.domain_study import main

    assert main(["run", "--quick", "--seed", "2", "--methods", "dann",
                 "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "domain-study-seed2.json").read_text())
    assert set(result["folds"]) == set(SITES)
    for fold in result["folds"].values():
        assert fold["dann"]["lambda"] in (0.3, 1.0)
        assert set(fold["dann"]["inner_scores"]) == {"0.3", "1"}
    assert main(["summarise", str(tmp_path)]) == 0
    assert (tmp_path / "domain-study-summary.json").exists()
    assert "leave-one-site-out" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["summarise", str(tmp_path / "empty")])


def test_card_section_is_replaced_in_place_and_lists_every_fold(tmp_path):
    from models.calibration.domain_study import CARD_BEGIN, CARD_END, card_section, update_card

    rs = [_fake(0, False, {"cerro-pachon": 98.0, "la-palma": 97.0, "hanle": 90.0}),
          _fake(1, False, {"cerro-pachon": 99.0, "la-palma": 98.0, "hanle": 92.0})]
    for r in rs:
        r["shift"]["sites"] = {t: {"pixel_scale_arcsec": 0.3, "median_seeing_arcsec": 0.9,
                                   "fwhm_arcsec_median": 1.0, "fwhm_px_median": 3.3,
                                   "vibration_arcsec": 0.1, "dark_sky_v_mag_arcsec2": 21.8,
                                   "dew": True} for t in SITES}
    config = {"seeds": [0, 1], "n_train": 800, "n_test": 2000, "epochs": 4,
              "inner_epochs": 2, "grids": {"mmd": [1.0, 10.0]}, "args": ["--epochs 4"],
              "conclusion": ["The domain term does not help."]}
    section = card_section(summarise(rs), config)
    text = "\n".join(section)
    assert section[0] == CARD_BEGIN and section[-1] == CARD_END
    assert "| hanle | 94.0 ± 0.0 | 91.0 ± 1.4 | 91.5 ± 1.4 | 3.0 ± 1.4 | 2.5 ± 1.4 |" in text
    assert "The domain term does not help." in text
    card = tmp_path / "card.md"
    card.write_text("# card\n\nintro\n\n## Limits\n- simulated\n")
    update_card(card, section)
    update_card(card, [CARD_BEGIN, "new numbers", CARD_END])
    out = card.read_text()
    assert out.count(CARD_BEGIN) == 1 and "new numbers" in out and "91.5" not in out
    assert out.startswith("# card\n\nintro\n\n## Limits\n- simulated\n")


def test_retraining_the_card_keeps_the_study_section(tmp_path):
    from models.calibration.card import _study_block
    from models.calibration.domain_study import CARD_BEGIN, CARD_END

    card = tmp_path / "card.md"
    assert _study_block(card) == ""
    card.write_text(f"# old\n\n{CARD_BEGIN}\nstudy table\n{CARD_END}\n\n## Training data\n")
    assert _study_block(card) == f"{CARD_BEGIN}\nstudy table\n{CARD_END}"
