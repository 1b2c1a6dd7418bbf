"""(g) NVIDIA Triton through PyTriton: Triton's HTTP server in front of a Python function that
runs model.onnx with onnxruntime, with Triton's dynamic batching. What a user of PyTriton
writes; the knobs for 2 cores come from the environment (loadtest/run.ts states them):

  PORT, GRPC_PORT, METRICS_PORT   loopback ports
  PEER_INSTANCES                  model instances (infer functions), default 1
  PEER_MAX_BATCH                  max batch size, default 64
  PEER_QUEUE_DELAY_US             dynamic batcher's max queue delay, default 100

  python pytriton_onnx.py MODEL.onnx
"""
import os
import sys

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def make_infer(path: str):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]
    output = "probabilities" if "probabilities" in outputs else outputs[-1]

    @batch
    def infer(features):
        out = session.run([output], {name: features.astype(np.float32, copy=False)})[0]
        scores = out[:, -1] if out.ndim == 2 else out
        return {"score": np.ascontiguousarray(scores, dtype=np.float32).reshape(-1, 1)}

    return infer


def main() -> None:
    path = sys.argv[1]
    instances = int(os.environ.get("PEER_INSTANCES", "1"))
    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=int(os.environ["PORT"]),
        grpc_address="127.0.0.1",
        grpc_port=int(os.environ["GRPC_PORT"]),
        metrics_port=int(os.environ["METRICS_PORT"]),
        allow_metrics=False,
        log_verbose=0,
    )
    with Triton(config=config) as triton:
        triton.bind(
            model_name="fraud-detector",
            infer_func=[make_infer(path) for _ in range(instances)],
            inputs=[Tensor(name="features", dtype=np.float32, shape=(26,))],
            outputs=[Tensor(name="score", dtype=np.float32, shape=(1,))],
            config=ModelConfig(
                max_batch_size=int(os.environ.get("PEER_MAX_BATCH", "64")),
                batcher=DynamicBatcher(max_queue_delay_microseconds=int(os.environ.get("PEER_QUEUE_DELAY_US", "100"))),
            ),
            strict=False,
        )
        triton.serve()


if __name__ == "__main__":
    main()
