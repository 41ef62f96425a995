"""Review decisions under load: a notebook decides while `code --study` runs and a `map` run share the study.

    python benchmarks/concurrency.py [--decisions 40] [--coders 2] [--pace 0.05] [--rounds 1]

Prints the decisions made, the decide() latency (p50/p95/max) while the runs work, each run's wall
time and exit code, and how often each process had to wait for another's write (lock retries).
A benchmark: it prints numbers and asserts nothing but that every decision is in the study.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.demo import sample_study  # noqa: E402
from workbench.review import decide, review_queue  # noqa: E402
from workbench.store import Store  # noqa: E402

# Runs one CLI command and prints, last, how often its transactions waited for another process.
_RUN = """
import json, sys, time
from workbench import store
waits = {"retries": 0, "wait_s": 0.0}
begin = store.Store._begin
def counted(self):
    t, r = time.perf_counter(), self.retries
    begin(self)
    waits["retries"] += self.retries - r
    waits["wait_s"] += time.perf_counter() - t
store.Store._begin = counted
from workbench.cli import main
code = main(sys.argv[1:])
print(json.dumps(waits))
sys.exit(code)
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--decisions", type=int, default=40, help="at least this many; more while the runs are still working")
    ap.add_argument("--coders", type=int, default=2, help="concurrent `code --study` runs")
    ap.add_argument("--pace", type=float, default=0.05, help="seconds between decisions")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wb-conc-"))
    try:
        t0 = time.perf_counter()
        path = sample_study(work / "study.db")
        print(f"sample study built in {time.perf_counter() - t0:.1f} s")
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmds = [["code", "--study", str(path), "--no-progress"] for _ in range(args.coders)]
        cmds.append(["map", "--study", str(path), "--out", str(work / "report")])
        with Store.open(path) as s:
            queue = review_queue(s)
            started = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, "-c", _RUN, *c], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for c in cmds]
            ended: dict[int, float] = {}
            latency, made, i = [], set(), 0
            while i < args.decisions or (len(ended) < len(procs) and i < len(queue)):
                item = queue.iloc[(i * 37) % len(queue)]
                t = time.perf_counter()
                new = decide(s, item, ("accept", "reject")[i % 2], coder=f"human:c{i % 2}")
                latency.append(time.perf_counter() - t)
                made |= {(c.excerpt_id, c.dimension, c.code_id, c.coder, c.status) for c in new}
                i += 1
                for k, p in enumerate(procs):
                    if k not in ended and p.poll() is not None:
                        ended[k] = time.perf_counter() - started
                time.sleep(args.pace)
            outputs = []
            for k, p in enumerate(procs):
                out, err = p.communicate()
                ended.setdefault(k, time.perf_counter() - started)
                outputs.append((p.returncode, out, err))
            my_retries = s.retries
        with Store.open(path) as s:
            c = s.codings()
        h = c[c["coder"].str.startswith("human:")]
        present = made <= set(zip(h["excerpt_id"], h["dimension"], h["code_id"], h["coder"], h["status"]))

        ms = [x * 1000 for x in latency]
        print(f"decisions made: {i} ({len(made)} codings), all present afterwards: {present}")
        print(f"decide latency under load: p50 {pct(ms, 0.5):.1f} ms, p95 {pct(ms, 0.95):.1f} ms, max {max(ms):.1f} ms")
        print(f"notebook lock retries: {my_retries}")
        for k, (cmd, (code, out, err)) in enumerate(zip(cmds, outputs)):
            waits = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
            locked = "locked" in err.lower()
            print(f"{cmd[0]:>5} run {k}: exit {code}, wall {ended[k]:.2f} s, lock retries {waits.get('retries', '?')}, "
                  f"waited {waits.get('wait_s', 0) * 1000:.0f} ms for the lock, 'locked' in stderr: {locked}")
        if not present or any(code for code, _, _ in outputs):
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
