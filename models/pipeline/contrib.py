#!/usr/bin/env python3
"""LightGBM's own explanation of rows, the reference for the gateway's TreeSHAP (src/explain/).

Reads the booster a model directory ships (`booster.txt`, written by train.py) and a CSV of
feature rows (a header naming the contract's features; other columns are ignored, e.g.
models/parity/heldout.csv), and prints one JSON object:

  {"features": [...], "rows": N,
   "contrib": [[c_0, ..., c_25, bias], ...],   # Booster.predict(pred_contrib=True)
   "margin": [...],                            # Booster.predict(raw_score=True)
   "onnx_margin": [...]}                       # the model's ONNX graph with post_transform NONE

`onnx_margin` is the ONNX model's own log-odds before its sigmoid, computed by onnxruntime on a
copy of the TreeEnsemble with the post-transform removed, so the gateway's "contributions sum to
the margin" check needs no logit of a rounded float32 probability.

  python models/pipeline/contrib.py --model-dir models/fraud-detector --rows models/parity/heldout.csv
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--rows", required=True)
    a = p.parse_args()
    import lightgbm as lgb
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model_dir = Path(a.model_dir)
    booster = lgb.Booster(model_file=str(model_dir / "booster.txt"))
    names = booster.feature_name()
    df = pd.read_csv(a.rows, dtype={n: np.float64 for n in names})
    # The rows are float32 values printed exactly: float32 is what the gateway scores.
    X = df[names].to_numpy(dtype=np.float32)
    contrib = booster.predict(X, pred_contrib=True)
    margin = booster.predict(X, raw_score=True)

    onx = onnx.load(str(model_dir / "model.onnx"))
    (ens,) = [n for n in onx.graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor")]
    for attr in list(ens.attribute):
        if attr.name == "post_transform":
            ens.attribute.remove(attr)
    ens.attribute.append(helper.make_attribute("post_transform", "NONE"))
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    out_name = sess.get_outputs()[-1].name
    (raw,) = sess.run([out_name], {sess.get_inputs()[0].name: X})
    raw = np.asarray(raw, dtype=np.float64)
    onnx_margin = raw[:, -1] if raw.ndim == 2 else raw
    json.dump({"features": names, "rows": len(X), "contrib": contrib.tolist(), "margin": margin.tolist(),
               "onnx_margin": onnx_margin.tolist()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
