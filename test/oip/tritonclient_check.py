"""Drives scoregate's Open Inference Protocol routes with Triton's own HTTP client.

Usage: python tritonclient_check.py HOST:PORT HELDOUT_CSV FEATURE_NAMES(comma-separated)

Reads the held-out rows (features in the contract's order, picked by name) and the Python
pipeline's own predictions (`expected`), sends them through tritonclient in every form the
client offers (binary tensors, JSON tensors, gzip bodies, versioned routes, requested outputs),
and checks each score against `expected` within 1e-5. Then checks the refusals: a wrong shape
and a wrong datatype are 400s naming the field, an unknown model and version are 404s.
Prints one JSON summary line on stdout; any failed check exits non-zero.
"""

import csv
import json
import sys
import time

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

TOLERANCE = 1e-5
MODEL = "fraud-detector"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def read_heldout(path, names):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) > 0, f"{path} has no rows")
    missing = [n for n in names + ["expected"] if n not in rows[0]]
    check(not missing, f"{path} lacks columns {missing}")
    x = np.array([[float(r[n]) for n in names] for r in rows], dtype=np.float32)
    expected = np.array([float(r["expected"]) for r in rows], dtype=np.float64)
    return x, expected


def infer(client, x, binary, version="", compression=None, request_id="", outputs=True, parameters=None):
    inp = httpclient.InferInput("features", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary)
    requested = [httpclient.InferRequestedOutput("score", binary_data=binary)] if outputs else None
    result = client.infer(
        MODEL,
        [inp],
        model_version=version,
        outputs=requested,
        request_id=request_id,
        request_compression_algorithm=compression,
        parameters=parameters,
    )
    return result


def expect_error(status, fragment, f):
    try:
        f()
    except InferenceServerException as e:
        check(e.status() == status, f"expected HTTP {status}, got {e.status()}: {e.message()}")
        check(fragment in e.message(), f"expected the error to name {fragment!r}: {e.message()}")
        return e.message()
    raise AssertionError(f"expected HTTP {status} naming {fragment!r}, the call succeeded")


def main():
    url, csv_path, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    x, expected = read_heldout(csv_path, names)
    client = httpclient.InferenceServerClient(url=url)

    check(client.is_server_live(), "server not live")
    check(client.is_server_ready(), "server not ready")
    server = client.get_server_metadata()
    check(server["name"] == "scoregate", f"server metadata {server}")

    md = client.get_model_metadata(MODEL)
    check(md["name"] == MODEL, f"model metadata {md}")
    check(md["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, len(names)]}], f"inputs {md['inputs']}")
    check(len(md["outputs"]) == 1 and md["outputs"][0]["name"] == "score" and md["outputs"][0]["datatype"] == "FP32", f"outputs {md['outputs']}")
    version = md["versions"][0]
    check(client.get_model_metadata(MODEL, version)["name"] == MODEL, "versioned metadata")
    check(client.is_model_ready(MODEL), "model not ready")
    check(client.is_model_ready(MODEL, version), "model version not ready")
    check(not client.is_model_ready("no-such-model"), "an unknown model is ready")
    check(not client.is_model_ready(MODEL, "no-such-version"), "an unknown version is ready")

    # Every form the client offers; rows in requests of at most 500 (BATCH_MAX_ITEMS).
    forms = [
        ("binary", dict(binary=True)),
        ("json", dict(binary=False)),
        ("binary-no-outputs", dict(binary=True, outputs=False)),
        ("json-versioned", dict(binary=False, version=version)),
        ("gzip", dict(binary=True, compression="gzip")),
        ("deflate-json", dict(binary=False, compression="deflate")),
    ]
    chunk = 500
    worst = {}
    started = time.perf_counter()
    for name, kw in forms:
        got = np.empty(len(x), dtype=np.float64)
        for i in range(0, len(x), chunk):
            rid = f"{name}-{i}"
            r = infer(client, x[i : i + chunk], request_id=rid, parameters={"caller": "tritonclient_check"}, **kw)
            resp = r.get_response()
            check(resp.get("id") == rid, f"{name}: id not echoed: {resp.get('id')!r}")
            check(resp["model_name"] == MODEL and resp["model_version"] == version, f"{name}: answered by {resp['model_name']} {resp['model_version']}")
            scores = r.as_numpy("score")
            check(scores is not None and scores.dtype == np.float32, f"{name}: score tensor {scores!r}")
            check(scores.shape in ((len(x[i : i + chunk]),), (len(x[i : i + chunk]), 1)), f"{name}: score shape {scores.shape}")
            got[i : i + chunk] = scores.reshape(-1)
        diff = np.abs(got - expected)
        worst[name] = float(diff.max())
        bad = np.nonzero(diff > TOLERANCE)[0]
        check(len(bad) == 0, f"{name}: {len(bad)} rows off by more than {TOLERANCE}; first row {bad[:1].tolist()} got {got[bad[:1]].tolist()} expected {expected[bad[:1]].tolist()}")
    infer_seconds = time.perf_counter() - started

    # Refusals, as the client reports them.
    shape_msg = expect_error("400", "shape", lambda: infer(client, x[:2, :25], binary=True))
    dtype_msg = expect_error(
        "400",
        "datatype",
        lambda: client.infer(MODEL, [_input_of(x[:2].astype(np.float64), "FP64")]),
    )
    expect_error("404", "no-such-model", lambda: client.infer("no-such-model", [_input_of(x[:1], "FP32")]))
    expect_error("404", "no-such-version", lambda: client.infer(MODEL, [_input_of(x[:1], "FP32")], model_version="no-such-version"))

    print(json.dumps({
        "rows": int(len(x)),
        "forms": [f for f, _ in forms],
        "maxAbsDiff": worst,
        "inferSeconds": round(infer_seconds, 3),
        "version": version,
        "shapeError": shape_msg,
        "datatypeError": dtype_msg,
    }))


def _input_of(a, datatype):
    inp = httpclient.InferInput("features", list(a.shape), datatype)
    inp.set_data_from_numpy(a, binary_data=True)
    return inp


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
