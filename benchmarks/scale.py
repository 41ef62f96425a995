"""A year of contact-centre logs end to end: ingest → code (default coders, embedding included) → map +
report → review, with time and peak memory per stage (a benchmark: it prints numbers).

    python benchmarks/scale.py [--utterances 1000000] [--seed 7] [--keep DIR] [--dask 1,2]

The call log is the synthetic one of ``benchmarks/ingest.py`` (EN + ES, channel, segment, CSAT).
Each stage runs as its own ``workbench`` process, so its peak RSS (and its largest worker's) is its
own. Targets (issue 18, 2 cores): whole run < 15 min, peak < 4 GB, map < 30 s, the review queue's
first page < 1 s and a decision < 0.2 s. The generator's texts repeat a lot (templates); the run
prints how many excerpt texts are distinct, because that is what the embedding coder's cost follows.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("ingest_bench", ROOT / "benchmarks" / "ingest.py")
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)        # make_log: the synthetic call log of benchmarks/ingest.py

_CLI = """
import json, sys, time
from benchmarks.peak import self_peak_mb, workers_peak_mb
from workbench.cli import main
t0 = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "seconds": time.perf_counter() - t0,
                  "self_mb": self_peak_mb(),
                  "worker_mb": workers_peak_mb()}))
"""

_REVIEW = """
import json, sys, time
from benchmarks.peak import self_peak_mb, workers_peak_mb
from workbench.review import CardQueue, card_details, decide_card, queue_counts, review_summary
from workbench.store import Store
store = Store.open(sys.argv[1])
t0 = time.perf_counter()
queue = CardQueue(store)                  # what the review panel opens with: the ordered cards, paged in SQL
page = card_details(store, queue.rows(0, 10))
t1 = time.perf_counter()
summary, counts = review_summary(store), queue_counts(store)      # the panel's count lines
t2 = time.perf_counter()
first = page.iloc[0]
decide_card(store, first["excerpt_id"], {first["dimensions"][0]: "accept"}, coder="bench")
t3 = time.perf_counter()
page2 = card_details(store, CardQueue(store).rows(0, 10))          # the next look after a decision
t4 = time.perf_counter()
print(json.dumps({"code": 0, "first_page": t1 - t0, "counts": t2 - t1, "decision": t3 - t2, "after": t4 - t3,
                  "cards": len(queue), "self_mb": self_peak_mb(),
                  "worker_mb": 0}))
"""


def run(script: str, *args: str) -> dict:
    print(f"  … {args[0] if args else ''}", file=sys.stderr, flush=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"{' '.join(args[:3])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"wall": wall, "out": proc.stdout}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--utterances", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="keep the study and outputs in this folder (default: a temporary one)")
    ap.add_argument("--embed", default="auto", help="the code stage's --embed (default auto, as `workbench code`)")
    ap.add_argument("--dask", default="", help="also re-code with `--engine dask` on LocalClusters of these worker "
                                               "counts, e.g. 1,2 (timed; not counted in the total)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(args.keep) if args.keep else Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        log, study = d / "calls.csv", d / "study.db"
        for p in (study, Path(f"{study}-wal"), Path(f"{study}-shm")):
            p.unlink(missing_ok=True)
        t0 = time.perf_counter()
        _bench.make_log(log, args.utterances, args.seed)
        print(f"generated {args.utterances:,} utterances ({log.stat().st_size / 2**20:.0f} MB) in "
              f"{time.perf_counter() - t0:.0f} s (not counted)", flush=True)
        rows = []
        rows.append(("init", run(_CLI, "init", str(study))))
        rows.append(("ingest", run(_CLI, "ingest", str(log), "--study", str(study), "--no-progress", "--pipeline", "blank",
                                   "--max-file-mb", "100000")))
        con = sqlite3.connect(study)
        n_ex, n_distinct = con.execute("SELECT count(*), count(DISTINCT substr(s.text, e.start + 1, e.\"end\" - e.start)) "
                                       "FROM excerpts e JOIN sources s USING (source_id)").fetchone()
        con.close()
        print(f"{n_ex:,} excerpts, {n_distinct:,} distinct texts ({n_distinct / max(1, n_ex):.1%})", flush=True)
        rows.append(("code", run(_CLI, "code", "--study", str(study), "--no-progress", "--embed", args.embed)))
        rows.append(("map + report", run(_CLI, "map", "--study", str(study), "--out", str(d / "report"))))
        rows.append(("review", run(_REVIEW, str(study))))
        counts = [x.strip() for x in args.dask.split(",") if x.strip()]
        extra = [("code again", run(_CLI, "code", "--study", str(study), "--no-progress", "--embed", args.embed))] \
            if counts else []               # the same re-code in one process, to compare with
        extra += [(f"code, dask x{n}", run(_CLI, "code", "--study", str(study), "--no-progress", "--embed", args.embed,
                                           "--engine", "dask", "--workers", n)) for n in counts]
    total = sum(r["wall"] for _, r in rows)
    peak = max(max(r["self_mb"], r["worker_mb"]) for _, r in rows)
    print(f"\n{'stage':14s} {'wall s':>8s} {'peak MB':>8s} {'worker MB':>9s}")
    for name, r in rows:
        print(f"{name:14s} {r['wall']:8.1f} {r['self_mb']:8.0f} {r['worker_mb']:9.0f}")
    for name, r in extra:
        print(f"{name:14s} {r['wall']:8.1f} {r['self_mb']:8.0f} {r['worker_mb']:9.0f}   (a re-code; not in the total)")
    for name, r in extra:         # per-partition costs and the projection to N workers, as the run printed them
        for line in r["out"].splitlines():
            if line.startswith("Dask:"):
                print(f"{name}: {line}")
    review = rows[-1][1]
    print(f"{'total':14s} {total:8.1f} {peak:8.0f}   (targets: < 900 s, < 4096 MB)")
    print(f"map + report {rows[-2][1]['wall']:.1f} s (target < 30 s); review first page {review['first_page']:.2f} s "
          f"(target < 1 s) over {review['cards']:,} cards, its count lines {review['counts']:.2f} s; a decision "
          f"{review['decision']:.3f} s (target < 0.2 s), the page again after it {review['after']:.2f} s")


if __name__ == "__main__":
    main()
