#!/usr/bin/env python3
"""ONNX Runtime reference for the Swift InceptionV3 (Keras topology, torchvision names).

Builds an ONNX graph straight from a safetensors file written by the Swift side and runs it
with onnxruntime, so the Swift logits are checked against code that shares nothing with
the engine but the weights. The graph follows `keras.applications.InceptionV3`:

* conv (no bias) -> BatchNormalization(epsilon=1e-3) without gamma (Keras scale=False; the
  graph feeds ones) -> ReLU, for every unit;
* Keras padding: the stem's 1a/2a/3b/4a convs and every stride-2 conv are VALID; all other
  convs are SAME (written as ONNX auto_pad=SAME_UPPER, so this file computes no pads);
* max pools 3x3 stride 2 VALID; the pool branches' 3x3 stride-1 average pool is SAME with
  count_include_pad=0 (Keras excludes the padding from the average);
* module table as in Keras: A (5b/5c/5d), B (6a), C (6b-6e), D (7a), E (7b/7c), branches
  concatenated on channels in Keras's order;
* global average pool, then the head: torchvision-style `fc` or the MLP head
  (`fc.0` Linear, `fc.1` BatchNorm1d eps 1e-5, ReLU, Dropout, ..., last Linear).

Input is raw float32 NCHW, already preprocessed (Keras "tf" mode: x/127.5 - 1).

Used by keras_backbones_reference.py (`onnx-logits --arch inceptionv3`), the one command-line entry
for the Keras-topology references.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resnet_reference import (  # noqa: E402
    BN_EPS as HEAD_BN_EPS,
    ONNX_IR_VERSION,
    ONNX_OPSET,
    _GraphBuilder,
    detect_head,
)

BN_EPS = 1e-3

# A branch is a list of steps: ("conv", name, stride, same?), ("avg",), ("max",), or
# ("fork", [conv steps]) whose outputs are concatenated.
def conv(name: str, stride: int = 1, same: bool = True):
    return ("conv", name, stride, same)


def module_a():
    return [[conv("branch1x1")],
            [conv("branch5x5_1"), conv("branch5x5_2")],
            [conv("branch3x3dbl_1"), conv("branch3x3dbl_2"), conv("branch3x3dbl_3")],
            [("avg",), conv("branch_pool")]]


def module_b():
    return [[conv("branch3x3", 2, False)],
            [conv("branch3x3dbl_1"), conv("branch3x3dbl_2"), conv("branch3x3dbl_3", 2, False)],
            [("max",)]]


def module_c():
    return [[conv("branch1x1")],
            [conv("branch7x7_1"), conv("branch7x7_2"), conv("branch7x7_3")],
            [conv(f"branch7x7dbl_{i}") for i in range(1, 6)],
            [("avg",), conv("branch_pool")]]


def module_d():
    return [[conv("branch3x3_1"), conv("branch3x3_2", 2, False)],
            [conv("branch7x7x3_1"), conv("branch7x7x3_2"), conv("branch7x7x3_3"), conv("branch7x7x3_4", 2, False)],
            [("max",)]]


def module_e():
    return [[conv("branch1x1")],
            [conv("branch3x3_1"), ("fork", [conv("branch3x3_2a"), conv("branch3x3_2b")])],
            [conv("branch3x3dbl_1"), conv("branch3x3dbl_2"), ("fork", [conv("branch3x3dbl_3a"), conv("branch3x3dbl_3b")])],
            [("avg",), conv("branch_pool")]]


STEM = [conv("Conv2d_1a_3x3", 2, False), conv("Conv2d_2a_3x3", 1, False), conv("Conv2d_2b_3x3"), ("max",),
        conv("Conv2d_3b_1x1", 1, False), conv("Conv2d_4a_3x3", 1, False), ("max",)]
MODULES = [("Mixed_5b", module_a()), ("Mixed_5c", module_a()), ("Mixed_5d", module_a()), ("Mixed_6a", module_b()),
           ("Mixed_6b", module_c()), ("Mixed_6c", module_c()), ("Mixed_6d", module_c()), ("Mixed_6e", module_c()),
           ("Mixed_7a", module_d()), ("Mixed_7b", module_e()), ("Mixed_7c", module_e())]


class _InceptionGraph(_GraphBuilder):
    def unit(self, x: str, prefix: str, stride: int, same: bool) -> str:
        w = self.weights[f"{prefix}.conv.weight"]
        if f"{prefix}.bn.weight" in self.weights:
            raise ValueError(f"{prefix}.bn.weight present: Keras InceptionV3 BatchNorms have no gamma")
        padding = {"auto_pad": "SAME_UPPER"} if same else {"pads": [0, 0, 0, 0]}
        y = self.op("Conv", [x, self.param(f"{prefix}.conv.weight")], kernel_shape=list(w.shape[2:]),
                    strides=[stride, stride], **padding)
        ones = f"{prefix}.bn.ones"
        self.initializers[ones] = numpy_helper.from_array(np.ones(w.shape[0], np.float32), ones)
        names = [ones] + [self.param(f"{prefix}.bn.{s}") for s in ("bias", "running_mean", "running_var")]
        return self.op("Relu", [self.op("BatchNormalization", [y, *names], epsilon=BN_EPS)])

    def step(self, x: str, module: str, step) -> str:
        kind = step[0]
        if kind == "conv":
            _, name, stride, same = step
            return self.unit(x, f"{module}.{name}" if module else name, stride, same)
        if kind == "avg":
            return self.op("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], auto_pad="SAME_UPPER",
                           count_include_pad=0)
        if kind == "max":
            return self.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
        return self.op("Concat", [self.step(x, module, s) for s in step[1]], axis=1)

    def branch(self, x: str, module: str, steps) -> str:
        for s in steps:
            x = self.step(x, module, s)
        return x


def build_onnx_model(weights: dict[str, np.ndarray]):
    g = _InceptionGraph(weights)
    x = g.branch("input", "", STEM)
    for name, branches in MODULES:
        x = g.op("Concat", [g.branch(x, name, b) for b in branches], axis=1)
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    head = detect_head(weights)
    for linear, bn in head.hidden:  # Dropout is the identity at inference
        y = g.linear(x, linear)
        names = [g.param(f"{bn}.{s}") for s in ("weight", "bias", "running_mean", "running_var")]
        x = g.op("Relu", [g.op("BatchNormalization", [y, *names], epsilon=HEAD_BN_EPS)])
    g.linear(x, head.final, output="logits")
    classes = weights[f"{head.final}.weight"].shape[0]
    graph = helper.make_graph(
        g.nodes, "inception_v3_keras",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        initializer=list(g.initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              ir_version=ONNX_IR_VERSION, producer_name="inception_v3_reference")
    checker.check_model(model)
    return model
