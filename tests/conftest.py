from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = tmp_path / "study.db"
    Store.create(path).close()
    return path


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def file_digest(path: Path) -> str:
    """Bytes of the study file after all connections closed (WAL checkpointed)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


PY = sys.executable
