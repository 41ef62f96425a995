"""Reading the quotes of one very long source (a benchmark: it prints numbers).

    python benchmarks/long_source.py [--mb 10]

Imports one transcript of about N MB (short interviewer/participant turns) and times
``Store.excerpts()`` and ``Store.turns()``, which every panel, map and export reads. SQLite's
``substr`` walks a text from its start to find a character offset, so on a long source quoting
costs time in proportion to the offset; past ``store.LONG_SOURCE_CHARS`` the store slices the
quotes in Python instead.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.nlp import SegmentSettings  # noqa: E402
from workbench.pipeline import ingest_paths  # noqa: E402
from workbench.store import Store  # noqa: E402

TURN = "Interviewer: Qué tal la tarjeta, ¿llegó? 🙂\nP1: Llegó tardísimo, doce días, y el envío costó 5 €. Nadie avisó.\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "long.txt"
        p.write_text(TURN * int(args.mb * 1024 * 1024 / len(TURN.encode())), encoding="utf-8")
        with Store.create(Path(d) / "s.db") as s:
            t0 = time.perf_counter()
            ingest_paths(s, [p], segment=SegmentSettings(pipeline="blank"), progress=False)
            t1 = time.perf_counter()
            ex = s.excerpts()
            t2 = time.perf_counter()
            turns = s.turns()
            t3 = time.perf_counter()
        n_chars = len(p.read_text(encoding="utf-8"))
        print(f"source: {p.stat().st_size / 1024 / 1024:.1f} MB, {n_chars:,} characters, {len(turns):,} turns, "
              f"{len(ex):,} excerpts; import {t1 - t0:.1f} s")
        print(f"Store.excerpts(): {t2 - t1:.2f} s; Store.turns(): {t3 - t2:.2f} s")


if __name__ == "__main__":
    main()
