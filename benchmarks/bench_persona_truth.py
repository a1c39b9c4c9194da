"""Benchmark: persona recovery against the simulator's true personas (issue 19, point 7).

For each world: the notebook's ``Personas()`` defaults (k chosen in 2..8; Gaussian mixture
with a shared covariance): the chosen k, the adjusted Rand index against the true personas
and the fit time (features excluded). Worlds: the committed ``data/sample`` (5,000
customers), seed 99 with 10,000 and seed 7 with 20,000 customers (used while choosing the
rule), and seed 123 with 8,000 customers (held out: looked at only once the rule was fixed).
Targets: k = 5 and ARI >= 0.85 on all.
Run: ``.venv/bin/python benchmarks/bench_persona_truth.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from common import world  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from imclab.data.load import load_world  # noqa: E402
from imclab.personas import Personas, derive_features  # noqa: E402
from imclab.simulate import load_truth  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: (label, seed, customers); seed None = the committed sample world.
WORLDS: tuple[tuple[str, int | None, int], ...] = (
    ("data/sample", None, 5000),
    ("seed 99, 10k", 99, 10_000),
    ("seed 7, 20k", 7, 20_000),
    ("seed 123, 8k (held out)", 123, 8000),
)


def _fit(features: pd.DataFrame, truth: pd.Series) -> dict:
    t0 = time.perf_counter()
    model = Personas().fit(features)
    return {
        "k": int(model.k_),
        "ari": round(float(adjusted_rand_score(truth, model.labels_)), 3),
        "seconds": round(time.perf_counter() - t0, 1),
        "reason": model.choice_reason_,
    }


def main() -> list[dict]:
    """Fit the default estimator on every world; return one row per world."""
    rows = []
    for label, seed, n in WORLDS:
        folder = REPO / "data" / "sample" if seed is None else world(n, seed=seed)
        tables = load_world(folder, tables=["customers", "touchpoints", "conversions"])
        features = derive_features(tables.duckdb())
        truth = features[["customer_id"]].merge(
            load_truth(folder)["personas"], on="customer_id", how="left"
        )["persona"]
        row = {"world": label, "customers": len(features)}
        row.update(_fit(features, truth))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    print(pd.DataFrame(main()).drop(columns="reason").to_string(index=False))
