"""Ingest + segmentation throughput on a synthetic call log (a benchmark: it prints numbers).

    python benchmarks/ingest.py [--utterances 100000] [--seed 7] [--pipeline blank]
    python benchmarks/ingest.py --engine dask --workers 2      # the preparation on a LocalCluster

Target (issue 3): >= 20,000 utterances/s on 2 cores with the blank pipeline.
"""
from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.ingest import read_path  # noqa: E402
from workbench.nlp import Segmenter, SegmentSettings  # noqa: E402
from workbench.pipeline import prepare  # noqa: E402
from workbench.store import Store  # noqa: E402

EN = ["I've been waiting {n} days for my card.", "The app crashed when I uploaded my ID.", "Thanks, that fixed it!",
      "Why was I charged {n} euros? Nobody told me about that fee.", "Can you check my transfer, please?",
      "I called three times and every time I had to explain it again.", "OK.", "Great, thank you so much.",
      "Let me check that for you. One moment.", "I'm sorry about the delay, Mr. Smith. The card was sent on the {n}th."]
ES = ["Llevo {n} días esperando la tarjeta.", "La app se cierra al hacer el selfie.", "Vale, gracias.",
      "¿Por qué me cobran {n} euros? Nadie me avisó.", "Le paso con el departamento de tarjetas.",
      "He llamado tres veces y siempre tengo que repetirlo todo.", "Perfecto, muchas gracias."]


def make_log(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["conversation_id", "timestamp", "role", "text", "channel", "segment", "csat"])
        conv, i = 0, 0
        while i < n:
            conv += 1
            pool = ES if rng.random() < 0.35 else EN
            channel = rng.choice(["phone", "chat", "email"])
            segment = rng.choice(["young_professional", "small_business"])
            csat = rng.choice(["1", "2", "3", "4", "5", ""])
            for k in range(min(rng.randint(4, 12), n - i)):
                text = " ".join(rng.choice(pool).format(n=rng.randint(2, 40)) for _ in range(rng.randint(1, 2)))
                w.writerow([f"B{conv:06d}", f"2026-02-{1 + conv % 28:02d}T10:{k:02d}:00",
                            "agent" if k % 2 else "customer", text, channel, segment, csat])
                i += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--utterances", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pipeline", default="blank")
    ap.add_argument("--workers", type=int, default=0, help="worker processes (0 = one per core)")
    ap.add_argument("--engine", choices=("local", "dask"), default="local",
                    help="prepare in forked processes (default) or on a Dask LocalCluster of --workers processes")
    args = ap.parse_args()
    remote, started = None, 0.0
    if args.engine == "dask":      # started before the clock: its start-up is printed apart
        from workbench.distributed import DaskPreparer

        t = time.perf_counter()
        remote = DaskPreparer(workers=args.workers)
        _ = remote.cluster.client         # the LocalCluster starts now
        started = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "calls.csv"
        make_log(log, args.utterances, args.seed)
        size_mb = log.stat().st_size / 1e6
        store = Store.create(Path(d) / "bench.db")
        segmenter = Segmenter(SegmentSettings(pipeline=args.pipeline))
        t0 = time.perf_counter()
        result = read_path(log, analyse=False)
        t1 = time.perf_counter()
        report = store.import_sources(str(log), result.file_hash, result.reader.id, result.sources,
                                      (lambda items: remote(items, segmenter, {}, {})) if remote else
                                      (lambda items: prepare(items, segmenter, {}, {}, args.workers)),
                                      settings=segmenter.settings.as_dict())
        t3 = time.perf_counter()
        store.close()
    if remote is not None:
        remote.close()
    n_turns = report.n_turns
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"file: {args.utterances:,} utterances, {len(result.sources):,} conversations, {size_mb:.1f} MB CSV")
    print(f"pipeline: {segmenter.used}")
    where = f"Dask LocalCluster of {args.workers or 'all'} workers, started in {started:.1f} s before the clock" \
        if remote else f"{args.workers or 'all'} worker processes"
    print(f"decode+parse: {t1 - t0:.2f} s; language+segment+store (one transaction, {where}): {t3 - t1:.2f} s")
    print(f"excerpts: {report.n_excerpts:,}")
    print(f"throughput: {n_turns / (t3 - t0):,.0f} utterances/s (ingest + segmentation + store, end to end)")
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB main process, {child_mb:,.0f} MB largest worker")


if __name__ == "__main__":
    main()
