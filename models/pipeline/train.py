#!/usr/bin/env python3
"""Trains the shipped default fraud model and saves it as an MLflow model directory.

Input is the CSV written by the gateway's own feature engine (`main.js features`):
transactionId, label, then the features in contract order (src/features/contract.ts). The
features are never recomputed here. The optional transactions file (the JSON lines that were
replayed) only supplies event timestamps for the time-ordered split.

Steps: time-ordered split (the last --test-fraction of rows by time is held out), LightGBM
binary classifier trained on float32 features, ONNX conversion (input `features` float32
[None, F], output `probabilities` float32 [None, 2]), parity check of onnxruntime against
LightGBM on every held-out row, `mlflow.onnx.save_model` into models/fraud-detector, the
training baseline `baseline.json` beside it (baseline.py: decile bins of every feature and of the
score, for the gateway's drift monitor), a pyfunc predict smoke test, models/parity/heldout.csv
and models/metrics.json.

With --register the model is also logged in an MLflow run on --tracking-uri (baseline.json
among its artifacts), registered as a new version of --name, and given --alias.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # baseline.py beside this file

MODELS_DIR = Path(__file__).resolve().parent.parent
MODEL_NAME = "fraud-detector"
FEATURE_COUNT = 26
PARITY_TOLERANCE = 1e-5
PARITY_ROWS = 2000
PARITY_MAX_FRAUD = 300

# Deterministic: one thread, fixed seeds, row-wise histograms.
LGBM_PARAMS = {
    "objective": "binary",
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": -1,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "random_state": 7,
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


def log(msg: str) -> None:
    print(f"train: {msg}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True, help="CSV from `main.js features`")
    p.add_argument("--transactions", help="the replayed JSON lines, for timestamps (default: file order, which is time order)")
    p.add_argument("--out", default=str(MODELS_DIR), help="models/ directory to write into (default: %(default)s)")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--model-version", help="metadata model_version (default: short hash of the ONNX bytes)")
    p.add_argument("--synth", default="", help="free text recorded in metrics.json: how the data was made")
    p.add_argument("--register", action="store_true", help="also log + register the model in an MLflow tracking server")
    p.add_argument("--tracking-uri", help="MLflow tracking URI for --register")
    p.add_argument("--name", default=MODEL_NAME, help="registered model name for --register (default: %(default)s)")
    p.add_argument("--alias", default="champion", help="alias to point at the new version (default: %(default)s)")
    p.add_argument("--experiment", default="scoregate-fraud-detector", help="experiment for --register (default: %(default)s)")
    a = p.parse_args()
    if a.register and not a.tracking_uri:
        p.error("--register needs --tracking-uri")
    return a


def load_data(features_csv: str, transactions: str | None) -> tuple[pd.DataFrame, list[str]]:
    header = pd.read_csv(features_csv, nrows=0).columns.tolist()
    if header[:2] != ["transactionId", "label"] or len(header) != 2 + FEATURE_COUNT:
        raise SystemExit(f"{features_csv}: expected transactionId,label + {FEATURE_COUNT} features, got {header}")
    names = header[2:]
    # The CLI prints each float32 widened to double exactly, so float64 parsing then a float32
    # cast gives back the engine's float32 values bit for bit.
    df = pd.read_csv(features_csv, dtype={"transactionId": str, "label": np.int64, **{n: np.float64 for n in names}})
    feats = df[names].to_numpy(dtype=np.float64)
    if not np.isfinite(feats).all():
        raise SystemExit(f"{features_csv}: non-finite feature values")
    df[names] = df[names].astype(np.float32)
    df["_order"] = np.arange(len(df))
    if transactions:
        ts, pattern = {}, {}
        with open(transactions, encoding="utf8") as fh:
            for line in fh:
                if line.strip():
                    d = json.loads(line)
                    ts[d["transactionId"]] = d["timestamp"]
                    pattern[d["transactionId"]] = d.get("pattern", "")
        df["_ts"] = df["transactionId"].map(ts)
        df["_pattern"] = df["transactionId"].map(pattern)
        if df["_ts"].isna().any():
            raise SystemExit(f"{transactions}: {int(df['_ts'].isna().sum())} feature rows have no timestamp")
        df = df.sort_values(["_ts", "_order"], kind="stable").reset_index(drop=True)
    return df, names


def to_onnx(model, n_features: int):
    import onnx
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    onx = convert_lightgbm(
        model,
        name=MODEL_NAME,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        zipmap=False,
        target_opset=15,  # the highest onnxmltools supports; onnxruntime-node 1.30 runs it
    )
    # Keep only the probabilities output: mlflow's onnx pyfunc flattens every output into one
    # DataFrame column, so a [N] label next to the [N, 2] probabilities makes predict() fail on
    # DataFrames (columns of different lengths). The gateway reads `probabilities` anyway.
    outs = [o.name for o in onx.graph.output]
    if "probabilities" not in outs:
        raise SystemExit(f"converted model has no probabilities output: {outs}")
    keep = [o for o in onx.graph.output if o.name == "probabilities"]
    del onx.graph.output[:]
    onx.graph.output.extend(keep)
    # Drop nodes that no longer feed an output (the label's ArgMax/Cast chain, if any).
    needed = {"probabilities"}
    kept_nodes = []
    for node in reversed(list(onx.graph.node)):
        if any(o in needed for o in node.output):
            kept_nodes.append(node)
            needed.update(i for i in node.input if i)
    kept_nodes.reverse()
    # A node with several outputs (TreeEnsembleClassifier: label, probabilities) keeps all of
    # them; its unused outputs are harmless.
    del onx.graph.node[:]
    onx.graph.node.extend(kept_nodes)
    onx.doc_string = "scoregate fraud-detector: LightGBM binary classifier; probabilities[:, 1] is the fraud score"
    tighten_thresholds(onx, model.booster_)
    onnx.checker.check_model(onx)
    return onx


def tighten_thresholds(onx, booster) -> None:
    """Makes the ONNX trees take exactly LightGBM's branches on float32 input.

    LightGBM splits on `x <= t` with t a double (a midpoint between bin values); the converter
    stores float32(t), rounded to nearest, so when float32(t) rounds up past t a row with
    x == float32(t) goes left in ONNX and right in LightGBM. Replacing each threshold by the
    largest float32 <= t makes `x <= t32` equivalent to `x <= t` for every float32 x.
    """
    from onnx import helper

    (ens,) = [n for n in onx.graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor")]
    attrs = {a.name: a for a in ens.attribute}
    tree_ids = list(attrs["nodes_treeids"].ints)
    features = list(attrs["nodes_featureids"].ints)
    modes = [m.decode() for m in attrs["nodes_modes"].strings]
    values = np.array(attrs["nodes_values"].floats, dtype=np.float32)

    def preorder(node, acc):
        if "split_index" in node:
            if node.get("decision_type") != "<=":
                raise SystemExit(f"unsupported LightGBM split {node.get('decision_type')!r}")
            acc.append((int(node["split_feature"]), float(node["threshold"])))
            preorder(node["left_child"], acc)
            preorder(node["right_child"], acc)
        return acc

    splits = {i: preorder(t["tree_structure"], []) for i, t in enumerate(booster.dump_model()["tree_info"])}
    # Walk each ONNX tree from its root, left (true) before right, to line its splits up with
    # LightGBM's preorder.
    node_ids = list(attrs["nodes_nodeids"].ints)
    true_ids = list(attrs["nodes_truenodeids"].ints)
    false_ids = list(attrs["nodes_falsenodeids"].ints)
    index = {(t, nid): j for j, (t, nid) in enumerate(zip(tree_ids, node_ids))}
    positions: dict[int, list[int]] = {}
    for tid in sorted(set(tree_ids)):
        children = {true_ids[j] for j, t in enumerate(tree_ids) if t == tid and modes[j] != "LEAF"}
        children |= {false_ids[j] for j, t in enumerate(tree_ids) if t == tid and modes[j] != "LEAF"}
        (root,) = [nid for t, nid in zip(tree_ids, node_ids) if t == tid and nid not in children]
        order, stack = [], [root]
        while stack:
            j = index[(tid, stack.pop())]
            if modes[j] == "LEAF":
                continue
            if modes[j] != "BRANCH_LEQ":
                raise SystemExit(f"unexpected ONNX node mode {modes[j]}")
            order.append(j)
            stack.append(false_ids[j])
            stack.append(true_ids[j])
        if order:
            positions[tid] = order
    if sorted(positions) != sorted(k for k, v in splits.items() if v):
        raise SystemExit("ONNX trees do not match LightGBM trees")
    changed = 0
    for tid, js in positions.items():
        if len(js) != len(splits[tid]):
            raise SystemExit(f"tree {tid}: {len(js)} ONNX splits, {len(splits[tid])} LightGBM splits")
        for j, (feat, t) in zip(js, splits[tid]):
            if features[j] != feat or values[j] != np.float32(t):
                raise SystemExit(f"tree {tid}: ONNX split (f{features[j]} <= {values[j]!r}) is not LightGBM's (f{feat} <= {t!r})")
            t32 = np.float32(t)
            if float(t32) > t:
                t32 = np.nextafter(t32, np.float32(-np.inf))
                changed += 1
            values[j] = t32
    ens.attribute.remove(attrs["nodes_values"])
    ens.attribute.append(helper.make_attribute("nodes_values", [float(v) for v in values]))
    # nodes_hitrates is optional and all 1.0: dropping it keeps the file smaller.
    if "nodes_hitrates" in attrs:
        ens.attribute.remove(attrs["nodes_hitrates"])
    log(f"thresholds: {sum(len(v) for v in positions.values())} splits, {changed} rounded down to the float32 below LightGBM's double")


GOLDEN_LEGIT = 192
GOLDEN_FRAUD = 64


def ensemble_attrs(onx):
    """The TreeEnsemble node's attributes, by name, as Python values."""
    (ens,) = [n for n in onx.graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor")]
    from onnx import helper
    attrs = {a.name: helper.get_attribute_value(a) for a in ens.attribute}
    return attrs


def explain_artifacts(model, onx, onx_sha: str, model_dir: Path, names: list[str], feats_test: np.ndarray,
                      y_test: np.ndarray, p_test: np.ndarray) -> None:
    """Writes what the gateway needs beside model.onnx to explain and check a score.

    - booster.txt: the LightGBM booster itself (the reference for pred_contrib parity tests).
    - tree_counts.json: each ONNX tree node's training-sample count (LightGBM's internal_count
      for a split, leaf_count for a leaf), in the TreeEnsemble's node order. TreeSHAP weighs the
      branch a row does not take by these counts; the ONNX converter keeps no cover (its
      nodes_hitrates are all 1.0 and are dropped), so they travel as an artifact. Each node is
      matched to LightGBM's by walking both trees from the root (true = left), checking the
      split feature and the leaf value on the way.
    - golden.csv: rows the model must score as LightGBM did (|delta| <= 1e-5) before it serves.
    """
    booster = model.booster_
    booster.save_model(str(model_dir / "booster.txt"))
    attrs = ensemble_attrs(onx)
    tree_ids = list(attrs["nodes_treeids"])
    node_ids = list(attrs["nodes_nodeids"])
    features = list(attrs["nodes_featureids"])
    modes = [m.decode() for m in attrs["nodes_modes"]]
    true_ids = list(attrs["nodes_truenodeids"])
    false_ids = list(attrs["nodes_falsenodeids"])
    leaf_weight = {(t, nid): w for t, nid, w in zip(attrs["class_treeids"], attrs["class_nodeids"], attrs["class_weights"])}
    index = {(t, nid): j for j, (t, nid) in enumerate(zip(tree_ids, node_ids))}
    counts: list[int | None] = [None] * len(tree_ids)
    dump = booster.dump_model()["tree_info"]
    if sorted(set(tree_ids)) != list(range(len(dump))):
        raise SystemExit(f"ONNX has trees {sorted(set(tree_ids))[:5]}..., LightGBM {len(dump)}")
    for tid, info in enumerate(dump):
        stack = [(0, info["tree_structure"])]
        while stack:
            nid, lgb_node = stack.pop()
            j = index[(tid, nid)]
            if "split_index" in lgb_node:
                if modes[j] == "LEAF" or features[j] != int(lgb_node["split_feature"]):
                    raise SystemExit(f"tree {tid} node {nid}: ONNX and LightGBM splits differ")
                counts[j] = int(lgb_node["internal_count"])
                stack.append((true_ids[j], lgb_node["left_child"]))
                stack.append((false_ids[j], lgb_node["right_child"]))
            else:
                if modes[j] != "LEAF" or abs(leaf_weight[(tid, nid)] - lgb_node["leaf_value"]) > 1e-6 * max(1.0, abs(lgb_node["leaf_value"])):
                    raise SystemExit(f"tree {tid} node {nid}: ONNX leaf does not match LightGBM's")
                # A tree that is one leaf has no count in the dump; it contributes to the bias only.
                counts[j] = int(lgb_node.get("leaf_count", info.get("num_leaves", 1)))
    if any(c is None for c in counts):
        raise SystemExit("some ONNX tree nodes were not reached from their roots")
    (model_dir / "tree_counts.json").write_text(json.dumps({
        "format": "scoregate.tree-counts/1",
        "doc": "training-sample count of each TreeEnsemble node, in the ONNX node order (LightGBM internal_count / leaf_count)",
        "onnx_sha256": onx_sha,
        "counts": counts,
    }, separators=(",", ":")) + "\n", encoding="utf8")

    rng = np.random.default_rng(20261127)
    pos = np.flatnonzero(y_test == 1)
    neg = np.flatnonzero(y_test == 0)
    sel = np.sort(np.concatenate([rng.choice(pos, min(len(pos), GOLDEN_FRAUD), replace=False),
                                  rng.choice(neg, min(len(neg), GOLDEN_LEGIT), replace=False)]))
    with open(model_dir / "golden.csv", "w", encoding="utf8", newline="") as fh:
        fh.write(",".join([*names, "expected"]) + "\n")
        for i in sel:
            fh.write(",".join([*(repr(float(v)) for v in feats_test[i]), repr(float(p_test[i]))]) + "\n")
    log(f"explain artifacts: booster.txt, tree_counts.json ({len(counts)} nodes), golden.csv ({len(sel)} rows, {int(y_test[sel].sum())} fraud)")


def main() -> int:
    args = parse_args()
    t0 = time.time()
    import lightgbm as lgb
    import mlflow
    import mlflow.onnx
    import onnx
    import onnxmltools
    import onnxruntime as ort
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.metrics import average_precision_score, roc_auc_score

    out = Path(args.out).resolve()
    df, names = load_data(args.features, args.transactions)
    n = len(df)
    n_test = int(round(n * args.test_fraction))
    train, test = df.iloc[: n - n_test], df.iloc[n - n_test :]
    X_train, y_train = train[names], train["label"].to_numpy()
    X_test, y_test = test[names], test["label"].to_numpy()
    assert all(X_train[c].dtype == np.float32 for c in names)
    log(f"{n} rows, {int(df['label'].sum())} fraud; train {len(train)} ({int(y_train.sum())} fraud), held-out {len(test)} ({int(y_test.sum())} fraud)")

    model = lgb.LGBMClassifier(**LGBM_PARAMS)
    model.fit(X_train, y_train)
    p_test = model.predict_proba(X_test)[:, 1]
    roc = float(roc_auc_score(y_test, p_test))
    pr = float(average_precision_score(y_test, p_test))
    log(f"held-out ROC-AUC {roc:.4f}, PR-AUC {pr:.4f}")
    flagged = p_test >= 0.5
    at_half = {"threshold": 0.5, "precision": round(float(y_test[flagged].mean()) if flagged.any() else 0.0, 6),
               "recall": round(float(flagged[y_test == 1].mean()), 6)}
    by_pattern = {}
    if "_pattern" in test:
        for pat, idx in test.groupby("_pattern").indices.items():
            by_pattern[pat] = {"rows": len(idx), "mean_score": round(float(p_test[idx].mean()), 6),
                               "flagged_at_0.5": round(float(flagged[idx].mean()), 6)}

    onx = to_onnx(model, len(names))
    onx_bytes = onx.SerializeToString()
    onnx_sha = hashlib.sha256(onx_bytes).hexdigest()
    model_version = args.model_version or onnx_sha[:12]

    # Parity: onnxruntime on every held-out row against LightGBM.
    sess = ort.InferenceSession(onx_bytes, providers=["CPUExecutionProvider"])
    if [i.name for i in sess.get_inputs()] != ["features"] or [o.name for o in sess.get_outputs()] != ["probabilities"]:
        raise SystemExit(f"unexpected ONNX io: {[(i.name, i.shape) for i in sess.get_inputs()]} -> {[(o.name, o.shape) for o in sess.get_outputs()]}")
    (probs_onnx,) = sess.run(["probabilities"], {"features": X_test.to_numpy(dtype=np.float32)})
    if probs_onnx.shape != (len(test), 2) or probs_onnx.dtype != np.float32:
        raise SystemExit(f"ONNX probabilities have shape {probs_onnx.shape} dtype {probs_onnx.dtype}, expected ({len(test)}, 2) float32")
    diff = np.abs(probs_onnx[:, 1].astype(np.float64) - p_test)
    max_diff = float(diff.max())
    log(f"parity on {len(test)} held-out rows: max |onnx - lightgbm| = {max_diff:.3g} (tolerance {PARITY_TOLERANCE})")
    if not max_diff <= PARITY_TOLERANCE:
        worst = int(diff.argmax())
        raise SystemExit(f"PARITY FAILED: {int((diff > PARITY_TOLERANCE).sum())} rows differ by more than {PARITY_TOLERANCE}; worst {test['transactionId'].iloc[worst]}: onnx {probs_onnx[worst, 1]!r} lightgbm {p_test[worst]!r}")

    # MLflow model directory.
    model_dir = out / MODEL_NAME
    if model_dir.exists():
        shutil.rmtree(model_dir)
    example = X_test.head(5).reset_index(drop=True)
    signature = infer_signature(example, {"probabilities": probs_onnx[:5]})
    metadata = {"model_name": MODEL_NAME, "model_version": model_version, "onnx_sha256": onnx_sha}
    mlflow.onnx.save_model(onx, path=str(model_dir), signature=signature, input_example=example, metadata=metadata,
                           onnx_execution_providers=["CPUExecutionProvider"])
    sig_cols = [c.name for c in mlflow.models.Model.load(str(model_dir)).signature.inputs.inputs]
    if sig_cols != names:
        raise SystemExit(f"saved signature columns {sig_cols} differ from the feature columns {names}")

    explain_artifacts(model, onx, onnx_sha, model_dir, names, X_test.to_numpy(dtype=np.float32), y_test, p_test)

    # pyfunc smoke test: what `mlflow models serve` does with a DataFrame request.
    pyf = mlflow.pyfunc.load_model(str(model_dir))
    pdf = X_test.head(8).reset_index(drop=True)
    pred = pyf.predict(pdf)
    flat = np.asarray(pred["probabilities"], dtype=np.float64).reshape(-1, 2)[:, 1]
    pyfunc_diff = float(np.abs(flat - p_test[:8]).max())
    log(f"pyfunc predict on {len(pdf)} rows -> {type(pred).__name__} shape {getattr(pred, 'shape', None)} columns {list(getattr(pred, 'columns', []))}; "
        f"reshaped (-1, 2)[:, 1] max diff vs lightgbm {pyfunc_diff:.3g}")
    if pyfunc_diff > PARITY_TOLERANCE:
        raise SystemExit("pyfunc predictions do not match LightGBM")

    # Training baseline (baseline.py): decile bins of every feature and of the score on the
    # training rows, shipped inside the model directory for the gateway's drift monitor.
    import baseline as training_baseline
    (train_probs,) = sess.run(["probabilities"], {"features": X_train.to_numpy(dtype=np.float32)})
    base = training_baseline.compute(X_train.to_numpy(dtype=np.float32), names, train_probs[:, 1],
                                     f"training rows ({len(train)}) of {Path(args.features).name}")
    log(f"wrote {training_baseline.write(model_dir, base)}: {len(base['features'])} features and the score, {base['rows']} rows")

    # Parity file: every held-out fraud row (up to PARITY_MAX_FRAUD) plus legit rows, time order.
    rng = np.random.default_rng(20260105)
    pos = np.flatnonzero(y_test == 1)
    neg = np.flatnonzero(y_test == 0)
    if len(pos) > PARITY_MAX_FRAUD:
        pos = np.sort(rng.choice(pos, PARITY_MAX_FRAUD, replace=False))
    neg = np.sort(rng.choice(neg, min(len(neg), PARITY_ROWS - len(pos)), replace=False))
    sel = np.sort(np.concatenate([pos, neg]))
    parity_dir = out / "parity"
    parity_dir.mkdir(parents=True, exist_ok=True)
    feats = X_test.to_numpy(dtype=np.float32)
    with open(parity_dir / "heldout.csv", "w", encoding="utf8", newline="") as fh:
        fh.write(",".join(["transactionId", "label", *names, "expected"]) + "\n")
        for i in sel:
            # repr of a float32 widened to double: the shortest text that reads back exactly,
            # the same text JavaScript's String() gives for that double.
            cells = [test["transactionId"].iloc[i], str(int(y_test[i]))]
            cells += [repr(float(v)) for v in feats[i]]
            cells.append(repr(float(p_test[i])))
            fh.write(",".join(cells) + "\n")
    log(f"wrote {parity_dir / 'heldout.csv'}: {len(sel)} rows, {len(pos)} fraud")

    versions = {
        "python": platform.python_version(),
        "lightgbm": lgb.__version__,
        "onnx": onnx.__version__,
        "onnxmltools": onnxmltools.__version__,
        "onnxruntime": ort.__version__,
        "mlflow": mlflow.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
    metrics = {
        "model_name": MODEL_NAME,
        "model_version": model_version,
        "onnx_sha256": onnx_sha,
        "onnx_bytes": len(onx_bytes),
        "data": args.synth,
        "rows": n,
        "fraud_rows": int(df["label"].sum()),
        "fraud_share": round(float(df["label"].mean()), 6),
        "split": "time-ordered; last {:.0%} of rows by timestamp held out".format(args.test_fraction),
        "train_rows": len(train),
        "train_fraud": int(y_train.sum()),
        "test_rows": len(test),
        "test_fraud": int(y_test.sum()),
        "heldout": {"roc_auc": round(roc, 6), "pr_auc": round(pr, 6), "at_0.5": at_half, "by_pattern": by_pattern},
        "parity": {"rows": len(test), "max_abs_diff": max_diff, "tolerance": PARITY_TOLERANCE},
        "features": names,
        "lightgbm_params": LGBM_PARAMS,
        "versions": versions,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf8")
    log(f"wrote {model_dir} (model_version {model_version}, onnx {len(onx_bytes)} bytes) and {out / 'metrics.json'} in {time.time() - t0:.1f}s")

    if args.register:
        register(args, onx, signature, example, metadata)
    return 0


EXTRA_ARTIFACTS = ("booster.txt", "tree_counts.json", "golden.csv")


def _extras(model_dir: Path) -> Path:
    """A temporary folder holding only the model directory's extra artifacts."""
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="scoregate-extras-"))
    for name in EXTRA_ARTIFACTS:
        shutil.copy2(model_dir / name, tmp / name)
    # The training baseline for drift monitoring travels the same way.
    if (model_dir / "baseline.json").exists():
        shutil.copy2(model_dir / "baseline.json", tmp / "baseline.json")
    return tmp


def register(args, onx, signature, example, metadata) -> None:
    import mlflow
    import mlflow.onnx
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment(args.experiment)
    metrics = json.loads((Path(args.out).resolve() / "metrics.json").read_text(encoding="utf8"))
    with mlflow.start_run(run_name=f"{args.name}-{metadata['model_version']}") as run:
        mlflow.log_params({k: v for k, v in metrics["lightgbm_params"].items()})
        mlflow.log_metrics({"heldout_roc_auc": metrics["heldout"]["roc_auc"], "heldout_pr_auc": metrics["heldout"]["pr_auc"],
                            "parity_max_abs_diff": metrics["parity"]["max_abs_diff"]})
        mlflow.set_tags({"onnx_sha256": metadata["onnx_sha256"], "data": metrics["data"]})
        mlflow.log_dict(metrics, "metrics.json")
        info = mlflow.onnx.log_model(onx, name="model", signature=signature, input_example=example,
                                     metadata={**metadata, "model_name": args.name},
                                     onnx_execution_providers=["CPUExecutionProvider"])
        # log_model writes only what save_model does: the explain artifacts and the golden set
        # (written into the local model directory by explain_artifacts) join the logged model
        # before it is registered, so a gateway following the registry never sees it without them.
        model_dir = Path(args.out).resolve() / MODEL_NAME
        MlflowClient(tracking_uri=args.tracking_uri).log_model_artifacts(info.model_id, str(_extras(model_dir)))
    mv = mlflow.register_model(info.model_uri, args.name)
    version = mv.version
    if version is None:
        raise SystemExit("register_model did not register a model version")
    client = MlflowClient(tracking_uri=args.tracking_uri)
    client.set_registered_model_alias(args.name, args.alias, str(version))
    got = client.get_model_version_by_alias(args.name, args.alias)
    log(f"registered {args.name} version {got.version} (run {run.info.run_id}, {info.model_uri}); alias {args.alias!r} -> {got.version}")
    print(json.dumps({"name": args.name, "version": str(got.version), "alias": args.alias, "run_id": run.info.run_id,
                      "model_uri": f"models:/{args.name}@{args.alias}"}))


if __name__ == "__main__":
    sys.exit(main())
