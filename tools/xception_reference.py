#!/usr/bin/env python3
"""ONNX Runtime reference for the Swift Xception (Keras topology, timm legacy_xception names).

Builds an ONNX graph straight from a safetensors file written by the Swift side and runs it
with onnxruntime. The graph follows `keras.applications.Xception`:

* stem: conv 3x3/2 VALID -> BN -> ReLU, conv 3x3 VALID -> BN -> ReLU (`conv1`/`bn1`,
  `conv2`/`bn2`);
* 12 blocks (Keras block2..block13 = timm block1..block12): [ReLU] -> separable conv
  (3x3 depthwise `rep.i.conv1`, 1x1 pointwise `rep.i.pointwise`, no bias, SAME) -> BN
  `rep.(i+1)`, repeated; the first block has no leading ReLU; downsampling blocks end in a
  3x3/2 max pool with TensorFlow SAME padding (ONNX auto_pad=SAME_UPPER) and add a 1x1/2
  conv + BN shortcut (`skip`/`skipbn`), the others add their input;
* exit: separable conv -> BN -> ReLU twice (`conv3`/`bn3`, `conv4`/`bn4`);
* every BatchNormalization has epsilon 1e-3 (Keras);
* global average pool, then the head: `fc`, or the MLP head (`fc.0` Linear, `fc.1`
  BatchNorm1d eps 1e-5, ReLU, Dropout, ..., last Linear).

The block structure is read from the parameter names (which `rep.i` hold separable convs,
which blocks have `skip`), so a file with another layout fails on a missing name.

Used by keras_backbones_reference.py (`onnx-logits --arch xception`), the one command-line entry
for the Keras-topology references.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, checker, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resnet_reference import (  # noqa: E402
    BN_EPS as HEAD_BN_EPS,
    ONNX_IR_VERSION,
    ONNX_OPSET,
    _GraphBuilder,
    detect_head,
)

BN_EPS = 1e-3


class _XceptionGraph(_GraphBuilder):
    def bn(self, x: str, prefix: str, eps: float = BN_EPS) -> str:
        names = [self.param(f"{prefix}.{s}") for s in ("weight", "bias", "running_mean", "running_var")]
        return self.op("BatchNormalization", [x, *names], epsilon=eps)

    def separable(self, x: str, prefix: str) -> str:
        depthwise = self.weights[f"{prefix}.conv1.weight"]
        channels, one, kh, kw = depthwise.shape
        assert one == 1, f"{prefix}.conv1.weight is not depthwise: {depthwise.shape}"
        y = self.op("Conv", [x, self.param(f"{prefix}.conv1.weight")], kernel_shape=[kh, kw], group=channels,
                    auto_pad="SAME_UPPER")
        return self.op("Conv", [y, self.param(f"{prefix}.pointwise.weight")], kernel_shape=[1, 1])

    def block(self, x: str, prefix: str) -> str:
        positions = sorted(int(m.group(1)) for n in self.weights
                           if (m := re.fullmatch(rf"{re.escape(prefix)}\.rep\.(\d+)\.conv1\.weight", n)))
        downsample = f"{prefix}.skip.weight" in self.weights
        y = x
        for position in positions:
            if position > 0:  # module position-1 is the ReLU ahead of this separable conv
                y = self.op("Relu", [y])
            y = self.bn(self.separable(y, f"{prefix}.rep.{position}"), f"{prefix}.rep.{position + 1}")
        if downsample:
            y = self.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
            x = self.bn(self.op("Conv", [x, self.param(f"{prefix}.skip.weight")], kernel_shape=[1, 1], strides=[2, 2]),
                        f"{prefix}.skipbn")
        return self.op("Add", [y, x])


def build_onnx_model(weights: dict[str, np.ndarray]):
    g = _XceptionGraph(weights)
    x = g.op("Relu", [g.bn(g.op("Conv", ["input", g.param("conv1.weight")], kernel_shape=[3, 3], strides=[2, 2]), "bn1")])
    x = g.op("Relu", [g.bn(g.op("Conv", [x, g.param("conv2.weight")], kernel_shape=[3, 3]), "bn2")])
    count = len({m.group(1) for n in weights if (m := re.match(r"block(\d+)\.", n))})
    for index in range(1, count + 1):
        x = g.block(x, f"block{index}")
    x = g.op("Relu", [g.bn(g.separable(x, "conv3"), "bn3")])
    x = g.op("Relu", [g.bn(g.separable(x, "conv4"), "bn4")])
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    head = detect_head(weights)
    for linear, bn in head.hidden:  # Dropout is the identity at inference
        x = g.op("Relu", [g.bn(g.linear(x, linear), bn, HEAD_BN_EPS)])
    g.linear(x, head.final, output="logits")
    classes = weights[f"{head.final}.weight"].shape[0]
    graph = helper.make_graph(
        g.nodes, "xception_keras",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        initializer=list(g.initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              ir_version=ONNX_IR_VERSION, producer_name="xception_reference")
    checker.check_model(model)
    return model
