#!/usr/bin/env bash
# One-command set-up: a virtual environment in .venv/, the workbench with what the demo and the
# tests need, then the demo on the bundled corpora (results in out/demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, pinned: anything that depends on it (BERTopic's sentence-transformers) would otherwise pull a multi-GB CUDA build
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[dev,notebook,themes,scale]"
.venv/bin/workbench train            # the offline emotion model, from the shipped GoEmotions data (~30 s, cached)
.venv/bin/workbench demo --out out/demo   # study, coding, journey map + report (out/demo/report/), report notebook
