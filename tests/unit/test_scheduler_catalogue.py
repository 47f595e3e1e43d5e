"""The scheduler's three models are in the model catalogue, each with its own entry point."""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import import_module, invalidate_caches

import pytest

from models.catalogue import Catalogue, CatalogueError

FAMILY_TRAIN = r'''
import json
import sys
from pathlib import Path


def main(argv=None):
    argv = list(argv if argv is not None else sys.argv[1:])
    Path(argv[argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
    (Path(argv[argv.index("--out") + 1]) / "argv.json").write_text(json.dumps(argv))
    return 0
'''


def test_shipped_catalogue_lists_the_scheduler_models_with_valid_metadata():
    cat = Catalogue()
    names = cat.names()
    assert {"scheduler_value", "scheduler_policy", "scheduler_bellman"} <= set(names)
    assert "scheduler" not in names                     # a family, not a model
    policy = cat.get("scheduler_policy")
    assert policy.current.onnx.name.startswith("policy-v")
    assert policy.current.version == policy.current.onnx.stem.split("-")[-1]
    assert policy.train_entry == "models.scheduler.train:main --model policy"
    assert policy.higher_is_better() is True
    assert cat.get("scheduler_value").higher_is_better() is False
    assert cat.get("scheduler_bellman").current.version == "v1"
    with pytest.raises(CatalogueError, match="unknown model 'scheduler'"):
        cat.get("scheduler")


def _family(root, package="fam_models"):
    pkg = root / package
    (pkg / "fam").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "fam" / "__init__.py").write_text("")
    (pkg / "fam" / "train.py").write_text(FAMILY_TRAIN)
    onnx = b"not really onnx"
    for version in ("v1", "v2"):
        (pkg / "fam" / f"a-{version}.onnx").write_bytes(onnx)
        (pkg / "fam" / f"a-{version}.json").write_text(json.dumps({
            "name": "a", "version": version, "sha256": hashlib.sha256(onnx).hexdigest(),
            "metrics": {}, "promotion_metric": {"name": "m", "value": 1.0,
                                                "higher_is_better": True}}))
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    invalidate_caches()
    import_module(f"{package}.fam.train")
    return Catalogue(pkg, package, families={"fam": {"fam_a": "a", "fam_b": "b"}})


def test_a_family_member_is_trained_by_its_packages_main_with_model_first(tmp_path):
    cat = _family(tmp_path)
    assert cat.names() == ["fam_a", "fam_b"]
    entry = cat.get("fam_a")
    assert [s.version for s in entry.shipped] == ["v1", "v2"]
    assert entry.current.onnx.name == "a-v2.onnx"
    assert cat.get("fam_b").shipped == ()               # nothing shipped yet
    out = tmp_path / "out"
    assert entry.train_main()(["--seed", "3", "--out", str(out)]) == 0
    assert json.loads((out / "argv.json").read_text()) == ["--model", "a", "--seed", "3",
                                                          "--out", str(out)]
