"""Fault and fuzz run of every reader on mutated copies of the bundled corpora (a benchmark: it prints numbers).

    python benchmarks/fuzz.py [--cases 10000] [--seed 1] [--workers 2]
    python benchmarks/fuzz.py --seed 1 --case 4711 [--write DIR]    # rerun one case, keep its file

Each case must be imported with the verbatim invariant intact or refused with a one-line
InputError and an unchanged study; anything else is a failure and is printed with its
reproducer (seed and case id). The cases and the checker are in tests/fuzzing.py.
Target (Hardening, point 3): 10,000 cases on 2 cores in under 15 minutes, zero failures.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import fuzzing  # noqa: E402  (tests/fuzzing.py)


def one(seed: int, case_id: int, write: Path | None) -> int:
    case = fuzzing.make_case(seed, case_id)
    if write:
        write.mkdir(parents=True, exist_ok=True)
        (write / case.name).write_bytes(case.data)
        print(f"wrote {write / case.name} ({len(case.data):,} bytes)")
    [o] = fuzzing.run_cases(seed, [case_id], workers=1)
    print(f"{o.ref} kind={o.kind} base={o.base} file={case.name}: {o.outcome} in {o.seconds:.2f} s")
    if o.detail:
        print(f"  {o.detail}")
    return 1 if o.failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--case", type=int, help="run this one case only")
    ap.add_argument("--write", type=Path, help="with --case: also write the mutated file into this folder")
    args = ap.parse_args(argv)
    if args.case is not None:
        return one(args.seed, args.case, args.write)

    from tqdm import tqdm

    t0 = time.perf_counter()
    failed = Counter()
    with tqdm(total=args.cases, unit="case", desc="Fuzzing") as bar:
        def tick(o: fuzzing.Outcome) -> None:
            failed[o.failed] += 1
            bar.set_postfix(failures=failed[True], refresh=False)
            bar.update(1)

        results = fuzzing.run_cases(args.seed, range(args.cases), workers=args.workers, on_result=tick)
    wall = time.perf_counter() - t0

    table = fuzzing.summary(results)
    shown = [k for k in fuzzing.OUTCOMES if table.get("all", {}).get(k)] or ["imported", "refused"]
    width = max(len(k) for k in table) + 2
    print(f"\n{len(results):,} cases, seed {args.seed}, {args.workers} workers, {wall:.0f} s wall "
          f"({len(results) / wall:.1f} cases/s)\n")
    print("kind".ljust(width) + "".join(k.rjust(18) for k in shown) + "total".rjust(8))
    for kind in sorted(k for k in table if k != "all") + ["all"]:
        row = table[kind]
        print(kind.ljust(width) + "".join(str(row[k]).rjust(18) for k in shown) + str(sum(row.values())).rjust(8))
    slowest = sorted(results, key=lambda o: -o.seconds)[:3]
    print("\nslowest: " + "; ".join(f"{o.ref} ({o.kind}, {o.base}) {o.seconds:.1f} s" for o in slowest))

    failures = [o for o in results if o.failed]
    if failures:
        print(f"\n{len(failures)} failure(s); rerun one with: python benchmarks/fuzz.py --seed S --case N --write DIR")
        seen: Counter[tuple[str, str]] = Counter()
        for o in sorted(failures, key=lambda o: (o.outcome, o.kind, int(o.ref.split("case=")[1]))):
            key = (o.outcome, o.detail.split(":")[0])
            seen[key] += 1
            if seen[key] <= 3:  # the same failure usually repeats; three reproducers of each are enough
                print(f"  {o.outcome:16} {o.ref:22} {o.kind:15} {o.base:32} {o.detail.splitlines()[0] if o.detail else ''}")
        hidden = sum(n - 3 for n in seen.values() if n > 3)
        if hidden:
            print(f"  … and {hidden} more like those above")
    else:
        print("\nno failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
