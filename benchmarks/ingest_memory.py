"""Peak memory of `workbench ingest` on synthetic call logs, per MB of file (a benchmark: it prints numbers).

    python benchmarks/ingest_memory.py [--sizes 20,100] [--seed 7]

Each size is ingested by a fresh `workbench ingest` process into a new study; its peak RSS (and
that of its largest worker process, for files big enough to be segmented in parallel) is read with
getrusage. The slope between the sizes gives the bound stated in the README:
peak memory ≈ K × file size + base.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("ingest_bench", ROOT / "benchmarks" / "ingest.py")
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)        # make_log: the same synthetic call log as benchmarks/ingest.py

_RUN = """
import json, sys
from benchmarks.peak import self_peak_mb, workers_peak_mb
from workbench.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "self_mb": self_peak_mb(),
                  "worker_mb": workers_peak_mb()}))
"""


def make_log_of(path: Path, mb: float, seed: int) -> int:
    """A call log of about ``mb`` MB (1 MB = 2**20 bytes); returns its utterances."""
    probe = path.with_suffix(".probe.csv")
    _bench.make_log(probe, 20_000, seed)
    per_row = probe.stat().st_size / 20_000
    probe.unlink()
    n = max(10, int(mb * 1024 * 1024 / per_row))
    _bench.make_log(path, n, seed)
    return n


def ingest(log: Path, study: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-m", "workbench.cli", "init", str(study)], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RUN, "ingest", str(log), "--study", str(study), "--no-progress",
                           "--pipeline", "blank", "--max-file-mb", "100000"], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"ingest of {log} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="20,100", help="file sizes in MB, comma-separated")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sizes = [float(x) for x in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for i, mb in enumerate([0.05] + sizes):          # the first, tiny file gives the base
            log = d / f"calls_{i}.csv"
            n = make_log_of(log, mb, args.seed)
            file_mb = log.stat().st_size / 1024 / 1024
            r = ingest(log, d / f"study_{i}.db")
            rows.append((file_mb, n, r))
            log.unlink()
    base = rows[0][2]["self_mb"]
    print(f"base (a {rows[0][0]:.2f} MB file): peak RSS {base:.0f} MB")
    for mb, n, r in rows[1:]:
        print(f"{mb:6.1f} MB file ({n:,} utterances): peak RSS {r['self_mb']:5.0f} MB main process, "
              f"{r['worker_mb']:5.0f} MB largest worker, {r['wall']:5.1f} s; "
              f"(peak - base) / file = {(r['self_mb'] - base) / mb:.1f} MB per MB")
    for (mb_a, _, a), (mb_b, _, b) in zip(rows[1:], rows[2:]):
        k = (b["self_mb"] - a["self_mb"]) / (mb_b - mb_a)
        print(f"slope {mb_a:.0f} -> {mb_b:.0f} MB: K = {k:.1f} MB of peak memory per MB of file")

if __name__ == "__main__":
    main()
