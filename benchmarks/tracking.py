"""How often a map diff calls noise a reliable change, and how often it finds a real one (a benchmark: it prints numbers).

    python benchmarks/tracking.py [--runs 200] [--people 80]

Two snapshots of one stage with ``--people`` participants each and 25 pain points. Noise: both drawn
from the same rates (5 %–60 %), so every "reliable" change is a false alarm; with Benjamini–Hochberg
at q < 0.05 and every null true, the share of diffs with any reliable change should stay under 0.05.
Power: one pain point moves from 7 % to 7 % + effect (10, 20, 30 points); the share of diffs that call it reliable.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.journey import Claim, CurvePoint, JourneyMap  # noqa: E402
from workbench.snapshots import diff_snapshots, snapshot_body  # noqa: E402

RATES = np.linspace(0.05, 0.6, 25)


def one_map(name: str, voiced: dict[str, int], people: int, rng: np.random.Generator) -> dict:
    ids = [f"{name}-{i}" for i in range(people)]
    ev = pd.DataFrame({"excerpt_id": ids, "source_id": ids, "source_name": ids, "speaker": "c", "participant": ids,
                       "segment": None, "stage": "service", "start": 0, "end": 1, "quote": "q",
                       "valence": np.clip(-0.2 + rng.normal(0, 0.3, people), -1, 1)})
    claims = [Claim(f"service.pain_points.{c}", "service", "pain_points", c, tuple(rng.choice(ids, k, replace=False)),
                    k, k, code=c) for c, k in voiced.items() if k]
    return snapshot_body(JourneyMap("s", "m", 1, [("service", "Service")], None, claims,
                                    [CurvePoint("service", people, -0.2, None, None, tuple(ids))], ev))


def draw(rng, people: int, shift: float = 0.0) -> dict[str, int]:
    rates = RATES.copy()
    rates[1] += shift
    return {f"code_{i}": int(rng.binomial(people, p)) for i, p in enumerate(rates)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--people", type=int, default=80)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    alarms = 0
    for r in range(args.runs):
        d = diff_snapshots(one_map("a", draw(rng, args.people), args.people, rng),
                           one_map("b", draw(rng, args.people), args.people, rng), n_boot=200)
        alarms += bool(d["reliable"].any())
    print(f"noise only, {args.runs} diffs of {args.people} vs {args.people} participants, 25 pain points + curve: "
          f"{alarms / args.runs:.3f} had any reliable change (target < 0.05)")
    print(f"one pain point from {RATES[1]:.0%} up by an effect; share of {args.runs // 2} diffs that call it reliable:")
    for effect in (0.1, 0.2, 0.3):
        hits = 0
        for r in range(args.runs // 2):
            d = diff_snapshots(one_map("a", draw(rng, args.people), args.people, rng),
                               one_map("b", draw(rng, args.people, effect), args.people, rng), n_boot=200)
            hits += bool(d.loc[d["claim_id"] == "service.pain_points.code_1", "reliable"].any())
        print(f"  +{effect:.0%}: {hits / (args.runs // 2):.2f}")


if __name__ == "__main__":
    main()
