"""The sentence encoder's six transformer layers as an ONNX graph, run by ONNX Runtime with int8 weights.

sentence_encoder.py reads the model's weights and does the cheap parts in numpy (tokens, embedding
lookup, pooling). The layers themselves cost ~12 ms a question in numpy: 42 MB of float32 weights are
streamed through the cache for every question and numpy runs each small operation on its own. This
module writes the same layers as an ONNX graph from those weights (nothing is downloaded or
converted from torch), quantises the matrices to int8 with one scale per output column (11 MB of
weights instead of 42, multiplied with integer instructions), and runs it on one thread: ~3 ms a
question instead of ~12 on a 2-core AVX2 machine, with vectors at a cosine of 0.993 on average to the
float ones (>= 0.985 on CLINC150 test questions). What that does to answers: bench/faq_eval.py.

Needs the `onnx` and `onnxruntime` packages (requirements/app.lock); without them sentence_encoder
runs the float layers in numpy.
"""
from __future__ import annotations

import numpy as np


def available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except (ImportError, OSError):  # not installed, or its native library does not load
        return False
    return True


def build(layers: list[tuple], heads: int, eps: float, outputs: tuple[int, ...], quantise: bool = True):
    """An ONNX model of the encoder layers: inputs `x` (texts, tokens, width), the embedded and
    normalised tokens, and `mask_bias` (texts, 1, 1, tokens), 0 for a token and -1e9 for padding;
    outputs the hidden states after each layer in `outputs` (0-based). `layers` holds, per layer,
    the arrays sentence_encoder.SentenceEncoder keeps (weights as (in, out) matrices).

    quantise: every weight matrix becomes int8 with one scale per output column, multiplied by
    ONNX Runtime's DynamicQuantizeMatMul (the input quantised to uint8 per run, an integer product,
    then scaled back to float); attention scores, softmax, GELU and layer norms stay float."""
    from onnx import TensorProto, helper, numpy_helper

    width = layers[0][2].shape[0]
    size = width // heads
    initializers, nodes = [], []

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def linear(name: str, x: str, weight: np.ndarray, bias: np.ndarray) -> str:
        if not quantise:
            return node("Add", [node("MatMul", [x, const(name + ".w", weight)], name + ".mm"),
                                const(name + ".b", bias)], name)
        scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127.0
        levels = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
        nodes.append(helper.make_node(
            "DynamicQuantizeMatMul",
            [x, const(name + ".w", levels), const(name + ".scale", scale.astype(np.float32)),
             const(name + ".zero", np.zeros(len(scale), dtype=np.int8)), const(name + ".b", bias)],
            [name], domain="com.microsoft"))
        return name

    split = const("split_heads", np.array([0, -1, heads, size], dtype=np.int64))
    thirds = const("thirds", np.array([width] * 3, dtype=np.int64))
    merge = const("merge_heads", np.array([0, -1, width], dtype=np.int64))
    scale = const("scale", np.array(1 / np.sqrt(size), dtype=np.float32))
    half, one = const("half", np.float32(0.5)), const("one", np.float32(1.0))
    inv_sqrt2 = const("inv_sqrt2", np.float32(0.7071067811865476))
    x, results = "x", []
    for number, (qkv_w, qkv_b, out_w, out_b, ln1, in_w, in_b, ff_w, ff_b, ln2) in enumerate(layers):
        p = f"layer{number}."
        # one product for queries, keys and values (one quantisation of x, not three), then split
        qkv = linear(p + "qkv", x, qkv_w, qkv_b)
        nodes.append(helper.make_node("Split", [qkv, thirds], [p + "q", p + "k", p + "v"], axis=-1))
        heads_of = {}
        for name in "qkv":
            # keys are transposed once here, so scores are a plain batched MatMul
            perm = [0, 2, 3, 1] if name == "k" else [0, 2, 1, 3]
            heads_of[name] = node("Transpose", [node("Reshape", [p + name, split], p + name + ".split")],
                                  p + name + ".heads", perm=perm)
        scores = node("Add", [node("Mul", [node("MatMul", [heads_of["q"], heads_of["k"]], p + "qk"), scale],
                                   p + "scaled"), "mask_bias"], p + "scores")
        attention = node("Softmax", [scores], p + "attention", axis=-1)
        context = node("MatMul", [attention, heads_of["v"]], p + "context.heads")
        context = node("Reshape", [node("Transpose", [context], p + "context.t", perm=[0, 2, 1, 3]), merge],
                       p + "context")
        attended = linear(p + "out", context, out_w, out_b)
        x1 = node("LayerNormalization", [node("Add", [attended, x], p + "res1"), const(p + "ln1.g", ln1[0]),
                                         const(p + "ln1.b", ln1[1])], p + "ln1", axis=-1, epsilon=eps)
        hidden = linear(p + "in", x1, in_w, in_b)
        # exact GELU, 0.5 * h * (1 + erf(h / sqrt 2)); ONNX Runtime fuses it into one kernel
        erf = node("Erf", [node("Mul", [hidden, inv_sqrt2], p + "gelu.scaled")], p + "gelu.erf")
        gelu = node("Mul", [node("Mul", [hidden, node("Add", [erf, one], p + "gelu.1p")], p + "gelu.m"), half],
                    p + "gelu")
        fed = linear(p + "ff", gelu, ff_w, ff_b)
        x = node("LayerNormalization", [node("Add", [fed, x1], p + "res2"), const(p + "ln2.g", ln2[0]),
                                        const(p + "ln2.b", ln2[1])], f"hidden{number}", axis=-1, epsilon=eps)
        if number in outputs:
            results.append(x)
    graph = helper.make_graph(
        nodes, "sentence-encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["texts", "tokens", width]),
         helper.make_tensor_value_info("mask_bias", TensorProto.FLOAT, ["texts", 1, 1, "tokens"])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["texts", "tokens", width]) for name in results],
        initializers)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if quantise else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8  # readable by every ONNX Runtime that knows opset 17
    return model


class Runtime:
    """An ONNX Runtime session over the encoder layers, one thread, int8 weights unless quantise=False.
    `run` is safe to call from several threads at once (ONNX Runtime sessions are)."""

    def __init__(self, layers: list[tuple], heads: int, eps: float, outputs: tuple[int, ...],
                 quantise: bool = True) -> None:
        import onnxruntime as ort

        payload = build(layers, heads, eps, outputs, quantise).SerializeToString()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # questions are small; the other core serves other requests
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])
        self.quantised = quantise

    def run(self, x: np.ndarray, mask_bias: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {"x": x, "mask_bias": mask_bias})
