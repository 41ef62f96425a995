"""Theme discovery's embedding step, here and on a Dask LocalCluster (a benchmark: it prints numbers).

    python benchmarks/themes_embedding.py [--texts 2000] [--embedder e5] [--workers 2]

The texts are the synthetic complaints of ``benchmarks/complaints.py``; the same batches (256 texts)
run here and on the workers, so the vectors must be the same, and the script says whether they are.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from complaints import generate  # noqa: E402
from workbench.distributed import Cluster, dask_chooser  # noqa: E402
from workbench.themes import _batched, choose_embedder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--embedder", default="e5", choices=["e5", "minilm"])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    texts = [t for t, _ in generate(args.texts, "dev", seed=1)]
    t0 = time.perf_counter()
    embed, which = choose_embedder(args.embedder, texts)
    t1 = time.perf_counter()
    here = _batched(embed, texts, False)
    t2 = time.perf_counter()
    with Cluster(workers=args.workers) as cluster:
        _ = cluster.client
        t3 = time.perf_counter()
        remote, _which = dask_chooser(cluster)(args.embedder, texts, 0)
        there = _batched(remote, texts, False)
        t4 = time.perf_counter()
    print(f"{len(texts):,} texts, {which}")
    print(f"here: model {t1 - t0:.1f} s + embedding {t2 - t1:.1f} s = {t2 - t0:.1f} s")
    print(f"Dask, {args.workers} workers: {t4 - t3:.1f} s (models loaded on the workers included; cluster start-up "
          "not)")
    print(f"identical vectors: {np.array_equal(here, there)} (largest difference {float(np.abs(here - there).max()):.2e})")


if __name__ == "__main__":
    main()
