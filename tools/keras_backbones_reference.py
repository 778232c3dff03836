#!/usr/bin/env python3
"""ONNX Runtime references for the Keras-topology backbones: ResNet50, VGG19, ResNet50V2, DenseNet121.

Each graph is written here from Keras Applications' definitions (keras/src/applications
vgg19.py, resnet.py, densenet.py), not from the Swift code, and reads a safetensors file by
our parameter names (torchvision's for VGG19/DenseNet121, timm's for ResNet50V2):

* ResNet50 (resnet50-keras, v1): explicit zero padding 3, conv1 7x7/2 with bias, BN, ReLU,
  explicit zero padding 1, 3x3/2 max pool. Per block (keras resnet.py residual_block_v1):
  shortcut = 1x1/s conv with bias + BN in a stage's first block, else x; branch 1x1/s conv
  (the stride is HERE, on `_1_conv`) + BN + ReLU, 3x3 conv (pads 1) + BN + ReLU, 1x1 conv +
  BN; ReLU(shortcut + branch). Stride 1 in the first stage, 2 in the others. Every conv has a
  bias; torchvision's names (`layer2.0.downsample.0`).
* VGG19: 3x3 convs with bias, padding 1 ("same"), ReLU; a 2x2/2 max pool after each block.
  The blocks come from torchvision's `features.N` indices: after conv N, a pool follows when
  N+2 is not a conv. With the top (`classifier.0.weight` present): flatten in (C, H, W)
  order, fc1 + ReLU, fc2 + ReLU, head; no dropout (Keras has none). If the file holds
  `keras.fc1.kernel` (Keras layout, (H*W*C, 4096)), fc1 is built the Keras way instead:
  transpose to NHWC, flatten, MatMul with that kernel. vgg19-notop: global average pool.
* ResNet50V2 (pre-activation): conv1 7x7/2 with bias (pads 3), then explicit zero padding 1
  and a 3x3/2 max pool (no activation in between, so padded zeros matter). Per block:
  preact = ReLU(BN(x)); shortcut = 1x1 conv with bias on preact (first block of a stage),
  1x1/s max pool of x (strided block), or x; branch 1x1 → BN-ReLU → 3x3/s (pads 1) → BN-ReLU
  → 1x1 with bias; sum. Stride 2 on the LAST block of every stage but the last. Then BN-ReLU.
* DenseNet121: conv0 7x7/2 (pads 3) → BN → ReLU → zero padding 1 → 3x3/2 max pool; dense
  layers BN-ReLU-1x1-BN-ReLU-3x3(pads 1) concatenated after their input; transitions
  BN-ReLU-1x1-2x2/2 average pool; then BN-ReLU.
BatchNorm eps 1.001e-5 in ResNet50, ResNet50V2 and DenseNet121. All end with global average pooling
(except VGG19 with its top) and the classifier head: one Linear, or the MLP head
(`H.0` Linear, `H.1` BatchNorm1d eps 1e-5, ReLU, Dropout, ..., last Linear).

InceptionV3 and Xception graphs come from inception_v3_reference.py and xception_reference.py.

Usage:
  keras_backbones_reference.py onnx-logits --arch resnet50-keras|vgg19|vgg19-notop|resnet50v2|densenet121|inceptionv3|xception
      --weights W.safetensors --input X.bin --shape N,3,H,W --output Y.bin [--save-onnx M.onnx]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, checker, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inception_v3_reference  # noqa: E402
import xception_reference  # noqa: E402
from resnet_reference import (  # noqa: E402
    ONNX_IR_VERSION,
    ONNX_OPSET,
    _GraphBuilder,
    parse_shape,
    read_input,
    read_safetensors,
)

KERAS_BN_EPS = 1.001e-5
HEAD_BN_EPS = 1e-5
HEADS = {"resnet50-keras": "fc", "vgg19": "classifier.6", "vgg19-notop": "classifier", "resnet50v2": "head.fc", "densenet121": "classifier"}


def indices(weights: dict, pattern: str) -> list[int]:
    """Sorted integers captured by `pattern` over all names; must be 1..n or 0..n-1."""
    found = sorted({int(m.group(1)) for n in weights if (m := re.fullmatch(pattern, n))})
    if not found:
        raise ValueError(f"no parameter matches {pattern}")
    return found


class _Graph(_GraphBuilder):
    def conv(self, x: str, prefix: str, stride: int = 1, pad: int | None = None) -> str:
        w = self.weights[f"{prefix}.weight"]
        k = w.shape[-1]
        pad = k // 2 if pad is None else pad
        inputs = [x, self.param(f"{prefix}.weight")]
        if f"{prefix}.bias" in self.weights:
            inputs.append(self.param(f"{prefix}.bias"))
        return self.op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def bn(self, x: str, prefix: str, eps: float = KERAS_BN_EPS) -> str:
        names = [f"{prefix}.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        return self.op("BatchNormalization", [x, *map(self.param, names)], epsilon=eps)

    def relu(self, x: str) -> str:
        return self.op("Relu", [x])

    def zero_pad(self, x: str, pad: int) -> str:
        name = f"pads_{pad}"
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(np.array([0, 0, pad, pad, 0, 0, pad, pad], np.int64), name)
        return self.op("Pad", [x, name], mode="constant")

    def global_pool(self, x: str) -> str:
        return self.op("Flatten", [self.op("GlobalAveragePool", [x])], axis=1)

    def head(self, x: str, prefix: str) -> str:
        if f"{prefix}.weight" in self.weights:
            return self.linear(x, prefix, output="logits")
        index = 0
        while f"{prefix}.{index + 1}.running_mean" in self.weights:
            x = self.relu(self.bn(self.linear(x, f"{prefix}.{index}"), f"{prefix}.{index + 1}", HEAD_BN_EPS))
            index += 4
        return self.linear(x, f"{prefix}.{index}", output="logits")


def resnet50_keras(g: _Graph, x: str) -> str:
    x = g.relu(g.bn(g.conv(g.zero_pad(x, 3), "conv1", stride=2, pad=0), "bn1"))
    x = g.op("MaxPool", [g.zero_pad(x, 1)], kernel_shape=[3, 3], strides=[2, 2])
    stages = indices(g.weights, r"layer(\d+)\.0\.conv1\.weight")
    for s in stages:
        for b in indices(g.weights, rf"layer{s}\.(\d+)\.conv1\.weight"):
            p = f"layer{s}.{b}"
            stride = 2 if b == 0 and s != stages[0] else 1
            shortcut = x
            if f"{p}.downsample.0.weight" in g.weights:
                shortcut = g.bn(g.conv(x, f"{p}.downsample.0", stride=stride), f"{p}.downsample.1")
            y = g.relu(g.bn(g.conv(x, f"{p}.conv1", stride=stride), f"{p}.bn1"))
            y = g.relu(g.bn(g.conv(y, f"{p}.conv2", pad=1), f"{p}.bn2"))
            x = g.relu(g.op("Add", [shortcut, g.bn(g.conv(y, f"{p}.conv3"), f"{p}.bn3")]))
    return g.global_pool(x)


def vgg19(g: _Graph, x: str, top: bool = True) -> str:
    convs = indices(g.weights, r"features\.(\d+)\.weight")
    for n in convs:
        x = g.relu(g.conv(x, f"features.{n}", pad=1))
        if n + 2 not in convs:
            x = g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    if not top:
        return g.global_pool(x)
    if "keras.fc1.kernel" in g.weights:
        flat = g.op("Flatten", [g.op("Transpose", [x], perm=[0, 2, 3, 1])], axis=1)
        x = g.op("Add", [g.op("MatMul", [flat, g.param("keras.fc1.kernel")]), g.param("classifier.0.bias")])
    else:
        x = g.linear(g.op("Flatten", [x], axis=1), "classifier.0")
    return g.relu(g.linear(g.relu(x), "classifier.3"))


def resnet50v2(g: _Graph, x: str) -> str:
    x = g.conv(x, "stem.conv", stride=2, pad=3)
    x = g.op("MaxPool", [g.zero_pad(x, 1)], kernel_shape=[3, 3], strides=[2, 2])
    stages = indices(g.weights, r"stages\.(\d+)\.blocks\.0\.conv1\.weight")
    for s in stages:
        blocks = indices(g.weights, rf"stages\.{s}\.blocks\.(\d+)\.conv1\.weight")
        for b in blocks:
            p = f"stages.{s}.blocks.{b}"
            stride = 2 if b == blocks[-1] and s != stages[-1] else 1
            preact = g.relu(g.bn(x, f"{p}.norm1"))
            if f"{p}.downsample.conv.weight" in g.weights:
                shortcut = g.conv(preact, f"{p}.downsample.conv", stride=stride)
            elif stride > 1:
                shortcut = g.op("MaxPool", [x], kernel_shape=[1, 1], strides=[stride, stride])
            else:
                shortcut = x
            y = g.relu(g.bn(g.conv(preact, f"{p}.conv1"), f"{p}.norm2"))
            y = g.relu(g.bn(g.conv(y, f"{p}.conv2", stride=stride, pad=1), f"{p}.norm3"))
            x = g.op("Add", [shortcut, g.conv(y, f"{p}.conv3")])
    return g.global_pool(g.relu(g.bn(x, "norm")))


def densenet121(g: _Graph, x: str) -> str:
    x = g.relu(g.bn(g.conv(x, "features.conv0", stride=2, pad=3), "features.norm0"))
    x = g.op("MaxPool", [g.zero_pad(x, 1)], kernel_shape=[3, 3], strides=[2, 2])
    for block in indices(g.weights, r"features\.denseblock(\d+)\.denselayer1\.conv1\.weight"):
        for layer in indices(g.weights, rf"features\.denseblock{block}\.denselayer(\d+)\.conv1\.weight"):
            p = f"features.denseblock{block}.denselayer{layer}"
            y = g.relu(g.bn(g.conv(g.relu(g.bn(x, f"{p}.norm1")), f"{p}.conv1"), f"{p}.norm2"))
            x = g.op("Concat", [x, g.conv(y, f"{p}.conv2", pad=1)], axis=1)
        t = f"features.transition{block}"
        if f"{t}.conv.weight" in g.weights:
            x = g.conv(g.relu(g.bn(x, f"{t}.norm")), f"{t}.conv")
            x = g.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    return g.global_pool(g.relu(g.bn(x, "features.norm5")))


BUILDERS = {"resnet50-keras": resnet50_keras, "vgg19": vgg19, "vgg19-notop": lambda g, x: vgg19(g, x, top=False), "resnet50v2": resnet50v2, "densenet121": densenet121}


def build_onnx_model(arch: str, weights: dict[str, np.ndarray], height: int, width: int):
    g = _Graph(weights)
    g.head(BUILDERS[arch](g, "input"), HEADS[arch])
    graph = helper.make_graph(
        g.nodes, arch.replace("-", "_"),
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "classes"])],
        initializer=list(g.initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              ir_version=ONNX_IR_VERSION, producer_name="keras_backbones_reference")
    checker.check_model(model)
    return model


def session(model, threads: int = 2) -> ort.InferenceSession:
    """make_session's settings, less ONNX Runtime's Pad_Fusion rewrite: it folds a zero Pad
    into the following MaxPool's pads, where padding never wins a window, so a window of
    negative values gives its maximum instead of the padded 0. ResNet50V2's stem (conv, zero
    pad, max pool, no ReLU in between) then differs by ~20% at the border (measured with
    onnxruntime 1.31.1; optimizations off, or this rule off, agree with float64 NumPy)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"],
                                disabled_optimizers=["Pad_Fusion"])


# Architectures whose graph another module builds from the weights alone.
SEPARATE_BUILDERS = {"inceptionv3": inception_v3_reference.build_onnx_model,
                     "xception": xception_reference.build_onnx_model}


def cmd_onnx_logits(args: argparse.Namespace) -> None:
    weights, _ = read_safetensors(args.weights)
    weights = {k: v for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    x = read_input(args.input, args.shape)
    if args.arch in SEPARATE_BUILDERS:
        model = SEPARATE_BUILDERS[args.arch](weights)
    else:
        model = build_onnx_model(args.arch, weights, *args.shape[2:])
    if args.save_onnx:
        onnx.save(model, args.save_onnx)
    (logits,) = session(model).run(["logits"], {"input": x})
    logits.astype("<f4").tofile(args.output)
    print(f"{args.arch} logits {logits.shape} -> {args.output}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("onnx-logits", help="float32 logits from onnxruntime (inference semantics)")
    p.add_argument("--arch", required=True, choices=sorted([*BUILDERS, *SEPARATE_BUILDERS]))
    p.add_argument("--weights", required=True, help="safetensors with our parameter names")
    p.add_argument("--input", required=True, help="raw little-endian float32 NCHW, already normalised")
    p.add_argument("--shape", required=True, type=parse_shape, help="N,3,H,W")
    p.add_argument("--output", required=True, help="raw float32 logits [N,K]")
    p.add_argument("--save-onnx", help="also write the ONNX model here")
    p.set_defaults(func=cmd_onnx_logits)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
