"""The layer order in pyproject.toml holds, and an upward import breaks it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_layers_hold():
    proc = _lint(ROOT / "src", ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "llmcompiler layers KEPT" in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "src" / "llmcompiler", tmp_path / "src" / "llmcompiler")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    ffi = tmp_path / "src" / "llmcompiler" / "llvm" / "_ffi.py"
    ffi.write_text(ffi.read_text() + "\nfrom llmcompiler.search import tuner  # noqa\n")
    proc = _lint(tmp_path / "src", tmp_path)
    assert proc.returncode == 1
    assert "llmcompiler layers BROKEN" in proc.stdout
    assert "llmcompiler.llvm._ffi -> llmcompiler.search.tuner" in proc.stdout
