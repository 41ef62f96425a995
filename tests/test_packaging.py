"""Packaging: pyproject and environment.yml agree; README's quick start is what CI runs."""
from __future__ import annotations

import re
import subprocess
import tomllib

import yaml

from conftest import ROOT

CONDA_ONLY = {"python", "pip"}


def _norm(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_has_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_norm(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = {_norm(d) for d in env["dependencies"] if isinstance(d, str)}
    pip_only = [d for entry in env["dependencies"] if isinstance(entry, dict) for d in entry.get("pip", [])]
    conda |= {_norm(d) for d in pip_only if not d.startswith("-")}         # PyPI-only packages, under pip:
    conda = {(n, v) for n, v in conda if n not in CONDA_ONLY}
    assert conda == wanted, f"only in environment.yml: {conda - wanted}; only in pyproject.toml: {wanted - conda}"
    assert project["requires-python"] == ">=3.11"
    assert ("python", ">=3.11") in {_norm(d) for d in env["dependencies"] if isinstance(d, str)}


def test_console_script_and_extras_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["workbench"] == "workbench.cli:main"
    assert {"notebook", "themes", "dev"} <= set(project["optional-dependencies"])


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- quickstart:begin -->")[1].split("<!-- quickstart:end -->")[0]
    commands = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("```")]
    assert len(commands) == 2, commands
    # .ci/run extracts the same two lines: run its extraction and compare.
    script = (ROOT / ".ci" / "run").read_text()
    extraction = re.search(r"cmds=\$\((.*)\)\n", script).group(1)
    out = subprocess.run(["bash", "-c", extraction], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert [ln.strip() for ln in out.splitlines() if ln.strip()] == [c.split("#")[0].strip() for c in commands]
    assert '-m venv .venv' in (ROOT / "scripts" / "setup.sh").read_text()


def test_console_script_runs():
    import shutil
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "workbench"
    cmd = [str(exe)] if exe.exists() else [shutil.which("workbench") or "workbench"]
    out = subprocess.run(cmd + ["--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ingest" in out.stdout and "demo" in out.stdout


def test_commands_that_do_not_segment_start_without_spacy():
    """spaCy (and torch, which thinc imports when installed) cost seconds: only ingest should pay them."""
    import subprocess
    import sys
    code = ("import sys, workbench, workbench.cli, workbench.journey, workbench.report, workbench.review\n"
            "from workbench.text import stop_words\n"
            "assert 'selfie' not in stop_words() and {'the', 'el', 'pues', 'thanks'} <= stop_words()\n"
            "print(sorted(m for m in ('spacy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
