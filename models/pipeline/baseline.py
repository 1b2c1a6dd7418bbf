#!/usr/bin/env python3
"""The training baseline a model ships with: `baseline.json` in its MLflow model directory.

The gateway compares live traffic with it (population stability index per feature and for the
score, src/monitoring/drift.ts). For each of the contract's features, in contract order, and for
the score it holds quantile bin edges and the share of rows in each bin:

    {"format": "scoregate.baseline/1", "rows": N, "source": "...",
     "features": [{"name": "amount", "edges": [e1, ..., ek], "shares": [p0, ..., pk]}, ...],
     "score": {"edges": [...], "shares": [...]}}

Bins: the deciles of the training values (the 10%, 20%, ... 90% quantiles), with duplicate cut
points dropped, so a feature with point masses (counts, flags, -1 for "no previous") gets fewer,
wider bins. Bin i holds the values x with edges[i-1] < x <= edges[i] (bin 0 everything up to
edges[0], the last bin everything above the last edge): `np.searchsorted(edges, x, side="left")`,
the number of edges below x, which the gateway computes the same way. Edges are float32 values
widened to double (features and scores are float32 in the model), so both sides compare the
same numbers.

Used by train.py for every model it trains, and standalone for a model trained before baselines
existed (the shipped one): it recomputes the training split the pipeline used from the same data
and scores it with the model's own ONNX file, leaving the model untouched:

    .cache/venv/bin/python models/pipeline/baseline.py --features .cache/model-data/features.csv \\
        --transactions .cache/model-data/transactions.jsonl --model models/fraud-detector \\
        --metrics models/metrics.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FORMAT = "scoregate.baseline/1"
BINS = 10


def bin_edges(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Interior decile cut points of float32 `values`, deduplicated, as float32 values."""
    v = np.asarray(values, dtype=np.float32)
    # method="lower" picks an observed value: an edge is a float32 that occurs in the data.
    qs = np.quantile(v, [i / bins for i in range(1, bins)], method="lower")
    edges = np.unique(qs.astype(np.float32))
    # A top edge equal to the maximum would leave the last bin empty in training: drop it.
    if edges.size > 0 and edges[-1] >= v.max():
        edges = edges[:-1]
    return edges


def shares(values: np.ndarray, edges: np.ndarray) -> list[float]:
    idx = np.searchsorted(edges, np.asarray(values, dtype=np.float32), side="left")
    counts = np.bincount(idx, minlength=edges.size + 1)
    return [float(c) / float(len(values)) for c in counts]


def one(values: np.ndarray) -> dict:
    edges = bin_edges(values)
    return {"edges": [float(e) for e in edges], "shares": shares(values, edges)}


def compute(features: np.ndarray, names: list[str], scores: np.ndarray, source: str) -> dict:
    if features.ndim != 2 or features.shape[1] != len(names) or features.shape[0] != scores.shape[0]:
        raise ValueError(f"features {features.shape}, {len(names)} names, {scores.shape[0]} scores do not line up")
    return {
        "format": FORMAT,
        "rows": int(features.shape[0]),
        "bins": BINS,
        "source": source,
        "features": [{"name": n, **one(features[:, i])} for i, n in enumerate(names)],
        "score": one(scores.astype(np.float32)),
    }


def write(model_dir: Path, baseline: dict) -> Path:
    path = Path(model_dir) / "baseline.json"
    path.write_text(json.dumps(baseline, indent=1) + "\n", encoding="utf8")
    return path


def onnx_scores(onnx_path: Path, rows: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"features": np.ascontiguousarray(rows, dtype=np.float32)})[0]
    # probabilities [N, 2] (column 1 is fraud), or a single probability column.
    return out[:, 1] if out.ndim == 2 and out.shape[1] == 2 else out.reshape(-1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True, help="CSV from `main.js features replay`")
    p.add_argument("--transactions", help="the replayed JSON lines, for the time-ordered split (as train.py)")
    p.add_argument("--model", required=True, help="MLflow model directory: scored with its model.onnx, baseline.json written into it")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held-out share, as train.py (default %(default)s)")
    p.add_argument("--all-rows", action="store_true", help="use every row, not the training split")
    p.add_argument("--metrics", help="metrics.json of the model: its train_rows and train_fraud must match the split")
    p.add_argument("--source", default="", help="free text recorded in baseline.json: where the rows came from")
    a = p.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from train import load_data  # the pipeline's own reading and ordering of the data

    df, names = load_data(a.features, a.transactions)
    n = len(df)
    n_train = n if a.all_rows else n - int(round(n * a.test_fraction))
    train = df.iloc[:n_train]
    if a.metrics:
        m = json.loads(Path(a.metrics).read_text(encoding="utf8"))
        got = {"rows": n, "train_rows": len(train), "train_fraud": int(train["label"].sum())}
        want = {k: m.get(k) for k in got}
        if got != want:
            raise SystemExit(f"the data do not match {a.metrics}: {got} vs {want}")
    X = train[names].to_numpy(dtype=np.float32)
    model = Path(a.model)
    onnx_file = next((model / f for f in ("model.onnx",) if (model / f).exists()), None)
    if onnx_file is None:
        raise SystemExit(f"{model} has no model.onnx")
    scores = onnx_scores(onnx_file, X)
    source = a.source or (f"{'all' if a.all_rows else 'training'} rows of {Path(a.features).name}")
    path = write(model, compute(X, names, scores, source))
    print(f"baseline: {path} from {len(train)} rows ({source})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
