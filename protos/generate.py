"""Regenerate the committed Python stubs from the ``.proto`` files, or check them.

Usage (from anywhere; paths are relative to the repository root)::

    python -m protos.generate           # rewrite the stubs
    python -m protos.generate --check   # exit 1 listing the stubs that drift

Stubs are generated with ``grpc_tools.protoc`` (the ``grpcio-tools`` version
pinned in ``pyproject.toml``) as ``-I . --python_out=. --grpc_python_out=.
--pyi_out=.`` from the repository root, so generated imports read
``from protos.openastro.v1 import site_node_pb2``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PROTO_FILES", "ROOT", "drift", "generate", "main"]

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the directory that holds ``protos/``)."""

PROTO_FILES = ("protos/openastro/v1/site_node.proto",)
"""Every ``.proto`` file, relative to :data:`ROOT`."""

_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _outputs(proto: str) -> list[str]:
    stem = proto.removesuffix(".proto")
    return [stem + s for s in _SUFFIXES]


def _run_protoc(out_dir: Path) -> None:
    from importlib import resources

    from grpc_tools import protoc

    include = str(resources.files("grpc_tools") / "_proto")
    args = ["grpc_tools.protoc", "-I", str(ROOT), "-I", include, f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}", f"--pyi_out={out_dir}",
            *(str(ROOT / p) for p in PROTO_FILES)]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")


def generate(root: Path = ROOT) -> list[str]:
    """Regenerate every stub under ``root``; return the paths written (relative)."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        _run_protoc(Path(tmp))
        for proto in PROTO_FILES:
            for rel in _outputs(proto):
                shutil.copyfile(Path(tmp) / rel, root / rel)
                written.append(rel)
    return written


def drift(root: Path = ROOT) -> list[str]:
    """Stubs that differ from what the ``.proto`` files generate (missing ones too)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        _run_protoc(Path(tmp))
        for proto in PROTO_FILES:
            for rel in _outputs(proto):
                committed = root / rel
                fresh = (Path(tmp) / rel).read_bytes()
                if not committed.is_file() or committed.read_bytes() != fresh:
                    out.append(rel)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m protos.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a stub differs from the .proto files")
    args = parser.parse_args(argv)
    if args.check:
        stale = drift()
        if stale:
            print("generated stubs drift from the .proto files (run `python -m "
                  "protos.generate`):", file=sys.stderr)
            for rel in stale:
                print(f"  {rel}", file=sys.stderr)
            return 1
        print(f"stubs in sync with {len(PROTO_FILES)} .proto file(s)")
        return 0
    for rel in generate():
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
