"""Writes the tiny ONNX fixtures the ml/onnx tests load (run with the notebooks' venv).

affine.onnx: y[N,4] = x[N,4] * 2 + 1 and s[N] = sum over axis 1 of y, with a
dynamic batch dimension; gather.onnx: out[N,K,2] = table[idx[N,K]] (int64 input).
"""
import numpy as np
import onnx
from onnx import TensorProto, helper

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
s = helper.make_tensor_value_info("s", TensorProto.FLOAT, ["batch"])
two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
graph = helper.make_graph(
    [
        helper.make_node("Mul", ["x", "two"], ["t"]),
        helper.make_node("Add", ["t", "one"], ["y"]),
        helper.make_node("ReduceSum", ["y", "axes"], ["s"], keepdims=0),
    ],
    "affine", [x], [y, s], [two, one, axes])
m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="beacon-test")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, "affine.onnx")

idx = helper.make_tensor_value_info("idx", TensorProto.INT64, ["batch", "k"])
out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "k", 2])
table = helper.make_tensor("table", TensorProto.FLOAT, [5, 2], np.arange(10, dtype=np.float32).tolist())
graph = helper.make_graph([helper.make_node("Gather", ["table", "idx"], ["out"], axis=0)], "gather", [idx], [out], [table])
m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="beacon-test")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, "gather.onnx")
