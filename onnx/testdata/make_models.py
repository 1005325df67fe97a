"""Writes the small test models of the onnx package's tests (a few hundred bytes each).

Run once (Python 3.11, onnx==1.23.2): python make_models.py
The Go tests use the committed .onnx files and never need Python.
"""

from onnx import TensorProto, checker, helper, save

OPSET = [helper.make_opsetid("", 17)]
TYPES = {
    "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE, "int64": TensorProto.INT64,
    "int32": TensorProto.INT32, "uint8": TensorProto.UINT8, "bool": TensorProto.BOOL,
    "int8": TensorProto.INT8, "int16": TensorProto.INT16, "uint16": TensorProto.UINT16,
    "uint32": TensorProto.UINT32, "uint64": TensorProto.UINT64,
}


def write(name, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="gobento-tests")
    model.ir_version = 8
    checker.check_model(model)
    save(model, name + ".onnx")


# identity_<type>: y = x, shape [N, 3], for every element type.
for tname, t in TYPES.items():
    write("identity_" + tname, [helper.make_node("Identity", ["x"], ["y"])],
          [helper.make_tensor_value_info("x", t, ["N", 3])],
          [helper.make_tensor_value_info("y", t, ["N", 3])])

# two_in_two_out: sum = a + b, total = ReduceSum(sum, axis 1); dynamic batch.
write("two_in_two_out",
      [helper.make_node("Add", ["a", "b"], ["sum"]),
       helper.make_node("ReduceSum", ["sum", "axes"], ["total"], keepdims=0)],
      [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3]),
       helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3])],
      [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N", 3]),
       helper.make_tensor_value_info("total", TensorProto.FLOAT, ["N"])],
      [helper.make_tensor("axes", TensorProto.INT64, [1], [1])])

# fixed_batch: y = 2x with a fixed shape [2, 3].
write("fixed_batch", [helper.make_node("Add", ["x", "x"], ["y"])],
      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])

# sequence: y = 2x with shape [N, L], both dynamic (items of different L cannot be merged).
write("sequence", [helper.make_node("Add", ["x", "x"], ["y"])],
      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L"])],
      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "L"])])

# not_batch_axis: total = ReduceSum over everything, shape [1]; the first input dimension is
# dynamic but the output's is not, so it must run item by item.
write("not_batch_axis",
      [helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
       helper.make_node("Reshape", ["total", "one"], ["y"])],
      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
      [helper.make_tensor("one", TensorProto.INT64, [1], [1])])

with open("corrupt.onnx", "wb") as f:
    f.write(b"\x08\x07this is not an ONNX model\xff\xff\xff")
