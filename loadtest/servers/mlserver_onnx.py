"""(f) A small ONNX runtime of MLServer's own kind: what a user of Seldon MLServer writes to
serve the model's model.onnx with onnxruntime instead of the MLflow runtime. One session per
worker, one intra-op thread (the 2 cores are shared with MLServer's workers), the fraud
probability (column 1 of `probabilities`, or a single-column output) answered as `score`.

model-settings.json: {"implementation": "mlserver_onnx.OnnxRuntime", "parameters": {"uri": ".../model.onnx"}}
with this folder on PYTHONPATH (loadtest/run.ts writes it).
"""
import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.settings.parameters.uri), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        self._output = "probabilities" if "probabilities" in outputs else outputs[-1]
        self._features = int(self._session.get_inputs()[0].shape[-1])
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        rows = np.asarray(NumpyCodec.decode_input(payload.inputs[0]), dtype=np.float32).reshape(-1, self._features)
        out = self._session.run([self._output], {self._input: rows})[0]
        scores = np.ascontiguousarray(out[:, -1] if out.ndim == 2 else out, dtype=np.float32)
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=[NumpyCodec.encode_output("score", scores)])
