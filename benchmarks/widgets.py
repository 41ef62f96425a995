"""Panel responsiveness on a large study: time to the first page of review cards, and more (prints numbers).

    python benchmarks/widgets.py [--n 10000]

Builds a synthetic study of N coded customer excerpts (the call log of ``benchmarks/report.py``:
4 machine codings each), then times, headless (the same Python the notebook runs):
the review panel's construction up to its first page of cards, paging to the next page, one
card accepted (every dimension of one excerpt, one store transaction), a filter change, and the map explorer's first render.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import build  # noqa: E402

from workbench.widgets import MapExplorer, ReviewPanel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        study = Path(d) / "study.db"
        build(study, args.n)
        t0 = time.perf_counter()
        panel = ReviewPanel(study, coder="bench", page_size=10)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        panel.show_page(1)
        t_next = time.perf_counter() - t0
        t0 = time.perf_counter()
        panel.accept(0)
        t_accept = time.perf_counter() - t0
        t0 = time.perf_counter()
        panel.dimension.value = "pain_point"            # reloads the queue
        t_filter = time.perf_counter() - t0
        n_queue = len(panel.queue)
        panel.close()
        t0 = time.perf_counter()
        MapExplorer(study, stage_model="awareness_advocacy")
        t_map = time.perf_counter() - t0
    print(f"study: {args.n:,} customer excerpts, {4 * args.n:,} machine codings")
    print(f"review cards first page (panel built, 10 cards): {t_first:.2f} s; next page {t_next:.2f} s; "
          f"accept (saved) {t_accept:.3f} s; filter by dimension {t_filter:.2f} s ({n_queue:,} cards with a pain-point suggestion)")
    print(f"map explorer first render (map + two charts): {t_map:.2f} s")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
