"""Converts a TF.js *layers* model (Keras JSON topology + weight shards) to ONNX.

nsfwjs ships its MobileNetV2 as a Keras 2.2.4 layers model. tf2onnx only reads
TF.js graph models, and tensorflowjs' layers->Keras path goes through Keras 3,
which no longer loads Keras 2.2 configs reliably, so this small converter maps
the handful of layer types the model uses straight to ONNX operators. It
refuses any layer or option it does not know. The notebook checks the result
against the original running in TF.js.

The ONNX model takes NHWC float32 input (as the TF.js model does) and
transposes it to NCHW once.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper


def decode_weights(manifest: list, shards: list[bytes]) -> dict[str, np.ndarray]:
    """Decodes a TF.js weightsManifest (with uint8/uint16 quantization)."""
    out = {}
    for group, data in zip(manifest, shards):
        off = 0
        for w in group["weights"]:
            shape = w["shape"]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q:
                dt = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}[q["dtype"]]
                raw = np.frombuffer(data, dtype=dt, count=n, offset=off)
                off += raw.nbytes
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    arr = (raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])).astype(np.float32)
            else:
                assert w["dtype"] == "float32", w
                arr = np.frombuffer(data, dtype=np.float32, count=n, offset=off).copy()
                off += arr.nbytes
            out[w["name"]] = arr.reshape(shape)
        assert off == len(data), (off, len(data))
    return out


def _same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


def convert(topology: dict, weights: dict[str, np.ndarray], input_name="input", output_name="probabilities",
            opset=17):
    cfg = topology["model_config"]["config"]
    layers = cfg["layers"]
    nodes, inits = [], []
    shapes = {}  # tensor -> (C, H, W) in NCHW, or (F,) after flatten
    used = set()

    def W(name):
        used.add(name)
        return weights[name]

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def activation(x, act, name):
        if act == "linear":
            return x
        if act == "relu":
            nodes.append(helper.make_node("Relu", [x], [name + "/relu"]))
            return name + "/relu"
        if act == "softmax":
            nodes.append(helper.make_node("Softmax", [x], [name + "/softmax"], axis=1))
            return name + "/softmax"
        raise ValueError(f"unsupported activation {act}")

    out_of = {}  # layer name -> tensor name
    graph_input = None
    for layer in layers:
        cls, c, name = layer["class_name"], layer["config"], layer["name"]
        ins = [out_of[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if cls == "InputLayer":
            _, h, w, ch = c["batch_input_shape"]
            graph_input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", h, w, ch])
            nodes.append(helper.make_node("Transpose", [input_name], [name], perm=[0, 3, 1, 2]))
            shapes[name] = (ch, h, w)
            out_of[name] = name
            continue
        x = ins[0]
        if "data_format" in c:
            assert c["data_format"] == "channels_last", c
        if cls == "ZeroPadding2D":
            (t, b), (l, r) = c["padding"]
            nodes.append(helper.make_node("Pad", [x, const(name + "/pads", np.array([0, 0, t, l, 0, 0, b, r], np.int64))], [name], mode="constant"))
            ch, h, w = shapes[x]
            shapes[name] = (ch, h + t + b, w + l + r)
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            assert c["dilation_rate"] == [1, 1], c
            kh, kw = c["kernel_size"]
            sh, sw = c["strides"]
            ch, h, w = shapes[x]
            if cls == "Conv2D":
                k = W(name + "/kernel")  # kh, kw, in, out
                wt = k.transpose(3, 2, 0, 1)
                group, outc = 1, k.shape[3]
            else:
                k = W(name + "/depthwise_kernel")  # kh, kw, in, mult
                mult = k.shape[3]
                wt = k.transpose(2, 3, 0, 1).reshape(k.shape[2] * mult, 1, kh, kw)
                group, outc = k.shape[2], k.shape[2] * mult
            if c["padding"] == "valid":
                pads, oh, ow = [0, 0, 0, 0], (h - kh) // sh + 1, (w - kw) // sw + 1
            elif c["padding"] == "same":
                t, b, oh = _same_pads(h, kh, sh)
                l, r, ow = _same_pads(w, kw, sw)
                pads = [t, l, b, r]
            else:
                raise ValueError(c["padding"])
            inputs = [x, const(name + "/W", wt.astype(np.float32))]
            if c["use_bias"]:
                inputs.append(const(name + "/B", W(name + "/bias").astype(np.float32)))
            nodes.append(helper.make_node("Conv", inputs, [name + "/conv"], kernel_shape=[kh, kw],
                                          strides=[sh, sw], pads=pads, group=group))
            shapes[name + "/conv"] = (outc, oh, ow)
            y = activation(name + "/conv", c["activation"], name)
            shapes[y] = (outc, oh, ow)
            if y != name:
                nodes.append(helper.make_node("Identity", [y], [name]))
            else:
                nodes[-1].output[0] = name
            shapes[name] = (outc, oh, ow)
        elif cls == "BatchNormalization":
            assert c["axis"] in (-1, 3), c
            ch = shapes[x][0]
            gamma = W(name + "/gamma") if c["scale"] else np.ones(ch, np.float32)
            beta = W(name + "/beta") if c["center"] else np.zeros(ch, np.float32)
            nodes.append(helper.make_node("BatchNormalization", [
                x, const(name + "/scale", gamma), const(name + "/bias", beta),
                const(name + "/mean", W(name + "/moving_mean")), const(name + "/var", W(name + "/moving_variance"))],
                [name], epsilon=float(c["epsilon"])))
            shapes[name] = shapes[x]
        elif cls == "ReLU":
            assert c.get("negative_slope", 0) == 0 and c.get("threshold", 0) == 0, c
            if c.get("max_value") is None:
                nodes.append(helper.make_node("Relu", [x], [name]))
            else:
                nodes.append(helper.make_node("Clip", [x, const(name + "/min", np.float32(0)),
                                                      const(name + "/max", np.float32(c["max_value"]))], [name]))
            shapes[name] = shapes[x]
        elif cls == "Add":
            nodes.append(helper.make_node("Add", ins, [name]))
            shapes[name] = shapes[ins[0]]
        elif cls == "AveragePooling2D":
            assert c["padding"] == "valid", c
            ph, pw = c["pool_size"]
            sh, sw = c["strides"] or c["pool_size"]
            ch, h, w = shapes[x]
            nodes.append(helper.make_node("AveragePool", [x], [name], kernel_shape=[ph, pw], strides=[sh, sw]))
            shapes[name] = (ch, (h - ph) // sh + 1, (w - pw) // sw + 1)
        elif cls == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", [x], [name + "/gap"]))
            nodes.append(helper.make_node("Flatten", [name + "/gap"], [name], axis=1))
            shapes[name] = (shapes[x][0],)
        elif cls == "Flatten":
            ch, h, w = shapes[x]
            nodes.append(helper.make_node("Transpose", [x], [name + "/nhwc"], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node("Flatten", [name + "/nhwc"], [name], axis=1))
            shapes[name] = (ch * h * w,)
        elif cls == "Dense":
            k = W(name + "/kernel")
            inputs = [x, const(name + "/W", k.astype(np.float32))]
            inputs.append(const(name + "/B", (W(name + "/bias") if c["use_bias"] else np.zeros(k.shape[1])).astype(np.float32)))
            nodes.append(helper.make_node("Gemm", inputs, [name + "/gemm"]))
            y = activation(name + "/gemm", c["activation"], name)
            nodes.append(helper.make_node("Identity", [y], [name]))
            shapes[name] = (k.shape[1],)
        elif cls == "Dropout":
            nodes.append(helper.make_node("Identity", [x], [name]))
            shapes[name] = shapes[x]
        else:
            raise ValueError(f"unsupported layer {cls} ({name})")
        out_of[name] = name

    unused = set(weights) - used
    assert not unused, f"weights not used: {sorted(unused)[:5]}"
    last = cfg["output_layers"][0][0]
    nodes.append(helper.make_node("Identity", [out_of[last]], [output_name]))
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", shapes[last][0]])
    graph = helper.make_graph(nodes, cfg["name"], [graph_input], [out], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="beacon-notebooks")
    m.ir_version = 8
    return m
