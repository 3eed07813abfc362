"""How far a slider move's re-scoring and re-tiering is from the floor: a bare NumPy weighted sum.

For each size: a seeded synthetic matrix of normalised features (n customers × 9 dimensions, 0..1,
held as ``normalise`` holds it: one float block in a DataFrame indexed by customer_id). Each repeat
draws a new weight vector (a slider move) and times, on the same matrix, in the same run:

- floor: ``X @ (w / w.sum())`` on the bare ndarray of the same float block;
- rescore: ``scoring.score(values, weights)`` (weight checks, matrix @ vector, clip, Series);
- rescore + re-tier: the above plus ``tiers.assign_tiers`` with score cut-offs (the default rule)
  and, separately, with quotas (top 5 % / 20 % / 35 % / rest);
- for reference, a bare tiering floor: the weighted sum plus one ``np.partition`` at the quota bounds
  (what quota tiering cost before it found its bounds from a histogram).

Medians over ``--repeats`` runs (default 20) are printed with the ratio to the floor.

    .venv/bin/python bench/bench_scoring.py --sizes 100000,1000000 --repeats 20
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops_core import scoring, tiers

KEYS = list(scoring.DIMENSION_KEYS)
QUOTAS = (0.05, 0.20, 0.35)
NAMES = np.array(["KA", "standard", "small", "micro"], dtype=object)


CUTOFF_RULES = tiers.TierRules(mode="cutoff", names=tuple(NAMES), cutoffs=(65.0, 50.0, 35.0))
QUOTA_RULES = tiers.TierRules(mode="quota", names=tuple(NAMES), quotas=QUOTAS)


def bench(n: int, repeats: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    matrix = rng.random((n, len(KEYS)))
    values = pd.DataFrame(matrix, index=pd.RangeIndex(1, n + 1, name="customer_id"), columns=KEYS)
    # The floor reads the frame's own float block (column-major, as pandas stores it): the same
    # memory score() reads, and the fastest layout for a 9-column matrix-vector product.
    bare = values.to_numpy()
    bounds = np.floor(np.cumsum(QUOTAS) * n + 0.5).astype(np.int64) - 1
    times: dict[str, list[float]] = {"floor": [], "rescore": [], "retier_cutoff": [], "retier_quota": [],
                                     "bare_tier_floor": []}
    for _ in range(repeats):
        w = rng.random(len(KEYS)) + 0.01
        weights = dict(zip(KEYS, w.tolist(), strict=True))

        t = time.perf_counter()
        floor = bare @ (w / w.sum())
        times["floor"].append(time.perf_counter() - t)

        t = time.perf_counter()
        scores = scoring.score(values, weights)
        times["rescore"].append(time.perf_counter() - t)

        t = time.perf_counter()
        tiers_out = tiers.assign_tiers(scoring.score(values, weights), CUTOFF_RULES)
        times["retier_cutoff"].append(time.perf_counter() - t)

        t = time.perf_counter()
        tiers_out = tiers.assign_tiers(scoring.score(values, weights), QUOTA_RULES)
        times["retier_quota"].append(time.perf_counter() - t)

        t = time.perf_counter()
        bare_scores = bare @ (w / w.sum())
        np.partition(-bare_scores, bounds)
        times["bare_tier_floor"].append(time.perf_counter() - t)

        assert np.allclose(scores.to_numpy(), floor * 100.0)
        assert len(tiers_out) == n
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"medians of {args.repeats} runs; numpy {np.__version__}, pandas {pd.__version__}; tiers: cut-offs "
          f"65/50/35 (the default) and quotas 5/20/35/rest")
    print(f"{'customers':>10} {'floor ms':>9} {'rescore ms':>11} {'ratio':>6} {'+cutoff tiers':>14} {'ratio':>6}"
          f" {'+quota tiers':>13} {'ratio':>6} {'bare sum+partition ms':>22}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = bench(n, args.repeats, args.seed)
        ms = {k: v * 1000 for k, v in r.items()}
        print(f"{n:>10,} {ms['floor']:>9.2f} {ms['rescore']:>11.2f} {ms['rescore'] / ms['floor']:>5.1f}x"
              f" {ms['retier_cutoff']:>14.2f} {ms['retier_cutoff'] / ms['floor']:>5.1f}x"
              f" {ms['retier_quota']:>13.2f} {ms['retier_quota'] / ms['floor']:>5.1f}x"
              f" {ms['bare_tier_floor']:>22.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
