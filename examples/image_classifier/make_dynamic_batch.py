"""Writes mnist-dynamic.onnx: mnist-cntk.onnx with a dynamic batch dimension.

The model zoo file fixes its input to [1, 1, 28, 28], its output to [1, 10] and flattens the
last feature map with Reshape(shape=[1, 256]). This script renames the batch dimension to the
symbol "N" on the input and the output, changes the Reshape target to [-1, 256] and drops the
recorded intermediate shapes (value_info, which fix the batch to 1; ONNX Runtime infers them);
weights and every node are unchanged, so a batch of one gives the same logits as the original.

Run once (Python 3.11, onnx==1.23.2, numpy==2.4.6; onnxruntime==1.32.0 only for the check):
    python make_dynamic_batch.py
The Go build and tests use the committed mnist-dynamic.onnx and never need Python.
"""

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load("mnist-cntk.onnx")
graph = model.graph
for value in (graph.input[0], graph.output[0]):
    dim = value.type.tensor_type.shape.dim[0]
    dim.Clear()
    dim.dim_param = "N"
del graph.value_info[:]
for i, init in enumerate(graph.initializer):
    if init.name == "Pooling160_Output_0_reshape0_shape":
        graph.initializer[i].CopyFrom(
            numpy_helper.from_array(np.array([-1, 256], dtype=np.int64), init.name))
onnx.checker.check_model(model)
onnx.save(model, "mnist-dynamic.onnx")

try:
    import onnxruntime as ort
except ImportError:
    raise SystemExit(0)
x = np.random.default_rng(0).uniform(0, 255, size=(3, 1, 28, 28)).astype(np.float32)
orig = ort.InferenceSession("mnist-cntk.onnx")
dyn = ort.InferenceSession("mnist-dynamic.onnx")
batch = dyn.run(None, {"Input3": x})[0]
single = np.concatenate([orig.run(None, {"Input3": x[i:i + 1]})[0] for i in range(3)])
assert batch.shape == (3, 10), batch.shape
assert np.allclose(batch, single, atol=1e-4), np.abs(batch - single).max()
print("mnist-dynamic.onnx: batch of 3 matches the original model")
