#!/usr/bin/env python3
"""Reference implementations the Swift ResNet-50 is checked against.

Two independent references, so that a bug in one is not silently shared by
the other:

* an ONNX graph run by onnxruntime (float32, inference semantics): the
  logits the Swift inference path must reproduce;
* a float64 NumPy forward (inference or training semantics) whose
  derivatives, by central differences or by complex step, give gradients the
  Swift backward pass must reproduce.

Both read the same safetensors file with exact torchvision parameter names,
so a weight file written by the Swift side can be fed here unchanged.
The NumPy forward preserves its input dtype so that it also runs on
complex128, which is what the complex-step derivatives need.

Usage:
  resnet_reference.py onnx-logits --weights W.safetensors --input X.bin --shape N,3,H,W
                                  --output Y.bin [--save-onnx model.onnx]
  resnet_reference.py fd-grads --weights W.safetensors --input X.bin --shape N,3,H,W
                               --labels L.bin --trainable-from layer4 --probes P.json
                               --output O.json [--method central|complex-step] [--eps 1e-5]
  resnet_reference.py random-weights --output W.safetensors [--classes 7] [--hidden 512] [--seed 0]
Self-test: tools/check_resnet_reference.py
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, checker, helper, numpy_helper

BN_EPS = 1e-5
STAGE_NAMES = ("layer1", "layer2", "layer3", "layer4")
# Order matters: --trainable-from X makes X and everything after it train.
MODULES = ("conv1",) + STAGE_NAMES + ("fc",)
RESNET50_BLOCKS = (3, 4, 6, 3)
STAGE_WIDTHS = (64, 128, 256, 512)
EXPANSION = 4
ONNX_OPSET = 17
COMPLEX_STEP = 1e-20
ONNX_IR_VERSION = 8  # opset 17's IR; the onnx package's newer default is too new for some onnxruntime builds

# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

_ST_DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Parse a safetensors file by hand (no extra package in the venv).

    Layout: u64 little-endian header length, JSON header, data buffer whose
    offsets in the header are relative to the buffer start.
    """
    raw = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in _ST_DTYPES:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(raw[base + begin : base + end], dtype=_ST_DTYPES[info["dtype"]])
        tensors[name] = array.reshape(tuple(info["shape"])).copy()
    return tensors, metadata


def write_safetensors(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> None:
    """Write float32/int64 tensors so test fixtures match what Swift reads."""
    names = {"<f4": "F32", "<i8": "I64"}
    header: dict = {"__metadata__": {k: str(v) for k, v in (metadata or {}).items()}}
    chunks, offset = [], 0
    for name in sorted(tensors):
        array = np.asarray(tensors[name])  # tobytes() is C order; ascontiguousarray would make 0-d arrays 1-d
        data = array.tobytes()
        header[name] = {"dtype": names[array.dtype.str], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # keep the data buffer 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for chunk in chunks:
            f.write(chunk)


# ---------------------------------------------------------------------------
# Architecture, read from the parameter names
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One bottleneck; v1.5 puts the stride on the 3x3 conv (conv2)."""

    prefix: str
    stride: int
    downsample: bool


@dataclass(frozen=True)
class Head:
    """hidden: (linear, batchnorm) prefixes per group; final: last Linear."""

    hidden: tuple[tuple[str, str], ...]
    final: str


@dataclass(frozen=True)
class Architecture:
    stages: tuple[tuple[Block, ...], ...]
    head: Head
    num_classes: int


def detect_head(weights: dict[str, np.ndarray], prefix: str = "fc") -> Head:
    """Tell torchvision's plain `fc` from the nn.Sequential MLP head.

    The MLP is groups of (Linear, BatchNorm1d, ReLU, Dropout) at fc.4g..fc.4g+3
    followed by the final Linear; only Linear and BN carry parameters. `prefix`
    is the head's name where an architecture calls it otherwise (`_fc`).
    """
    if f"{prefix}.weight" in weights:
        return Head(hidden=(), final=prefix)
    hidden, index = [], 0
    while f"{prefix}.{index}.weight" in weights:
        if f"{prefix}.{index + 1}.running_mean" not in weights:
            return Head(hidden=tuple(hidden), final=f"{prefix}.{index}")
        hidden.append((f"{prefix}.{index}", f"{prefix}.{index + 1}"))
        index += 4
    raise ValueError(f"no classifier head: expected {prefix}.weight or {prefix}.<i>.weight")


def detect_architecture(weights: dict[str, np.ndarray]) -> Architecture:
    """Block counts come from the names, so a truncated file fails loudly."""
    stages = []
    for stage_index, stage in enumerate(STAGE_NAMES):
        indices = {int(m.group(1)) for n in weights if (m := re.match(rf"{stage}\.(\d+)\.conv1\.weight$", n))}
        if indices != set(range(len(indices))) or not indices:
            raise ValueError(f"{stage}: blocks {sorted(indices)} are not 0..n-1")
        stages.append(
            tuple(
                Block(
                    prefix=f"{stage}.{i}",
                    stride=2 if stage_index > 0 and i == 0 else 1,
                    downsample=f"{stage}.{i}.downsample.0.weight" in weights,
                )
                for i in sorted(indices)
            )
        )
    head = detect_head(weights)
    return Architecture(stages=tuple(stages), head=head, num_classes=weights[f"{head.final}.weight"].shape[0])


def module_of(param_name: str) -> str:
    """Which freezable module a parameter belongs to (bn1 is part of the stem)."""
    first = param_name.split(".")[0]
    return "conv1" if first == "bn1" else first


# ---------------------------------------------------------------------------
# Random weights (fixtures, benchmarks)
# ---------------------------------------------------------------------------


def _bn_params(rng: np.random.Generator, prefix: str, channels: int) -> dict[str, np.ndarray]:
    """Non-trivial BN stats so a mix-up of weight/bias/mean/var shows in the logits."""
    return {
        f"{prefix}.weight": rng.uniform(0.5, 1.5, channels).astype(np.float32),
        f"{prefix}.bias": rng.normal(0.0, 0.1, channels).astype(np.float32),
        f"{prefix}.running_mean": rng.normal(0.0, 0.1, channels).astype(np.float32),
        f"{prefix}.running_var": rng.uniform(0.5, 1.5, channels).astype(np.float32),
        f"{prefix}.num_batches_tracked": np.array(0, dtype=np.int64),
    }


def _he_conv(rng: np.random.Generator, out_ch: int, in_ch: int, k: int) -> np.ndarray:
    return (rng.standard_normal((out_ch, in_ch, k, k)) * np.sqrt(2.0 / (in_ch * k * k))).astype(np.float32)


def _linear(rng: np.random.Generator, prefix: str, out_f: int, in_f: int) -> dict[str, np.ndarray]:
    bound = 1.0 / np.sqrt(in_f)
    return {
        f"{prefix}.weight": rng.uniform(-bound, bound, (out_f, in_f)).astype(np.float32),
        f"{prefix}.bias": rng.uniform(-bound, bound, out_f).astype(np.float32),
    }


def random_resnet50_weights(num_classes: int, hidden: tuple[int, ...] = (), seed: int = 0) -> dict[str, np.ndarray]:
    """ResNet-50 with torchvision names; `hidden` non-empty gives the MLP head."""
    rng = np.random.default_rng(seed)
    w = {"conv1.weight": _he_conv(rng, 64, 3, 7), **_bn_params(rng, "bn1", 64)}
    in_ch = 64
    for stage, blocks, width in zip(STAGE_NAMES, RESNET50_BLOCKS, STAGE_WIDTHS):
        for i in range(blocks):
            p, out_ch = f"{stage}.{i}", width * EXPANSION
            w[f"{p}.conv1.weight"] = _he_conv(rng, width, in_ch, 1)
            w[f"{p}.conv2.weight"] = _he_conv(rng, width, width, 3)
            w[f"{p}.conv3.weight"] = _he_conv(rng, out_ch, width, 1)
            for bn, ch in (("bn1", width), ("bn2", width), ("bn3", out_ch)):
                w.update(_bn_params(rng, f"{p}.{bn}", ch))
            if i == 0:
                w[f"{p}.downsample.0.weight"] = _he_conv(rng, out_ch, in_ch, 1)
                w.update(_bn_params(rng, f"{p}.downsample.1", out_ch))
            in_ch = out_ch
    if not hidden:
        w.update(_linear(rng, "fc", num_classes, in_ch))
        return w
    for group, width in enumerate(hidden):
        w.update(_linear(rng, f"fc.{4 * group}", width, in_ch))
        w.update(_bn_params(rng, f"fc.{4 * group + 1}", width))
        in_ch = width
    w.update(_linear(rng, f"fc.{4 * len(hidden)}", num_classes, in_ch))
    return w


# ---------------------------------------------------------------------------
# ONNX graph (float32, inference)
# ---------------------------------------------------------------------------


class _GraphBuilder:
    """Collects nodes and initializers; parameters keep their torchvision names."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.weights = weights
        self.nodes: list = []
        self.initializers: dict = {}
        self._counter = 0

    def param(self, name: str) -> str:
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(self.weights[name].astype(np.float32), name)
        return name

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        self._counter += 1
        out = output or f"{op_type.lower()}_{self._counter}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, name: str, stride: int = 1) -> str:
        k = self.weights[name].shape[-1]
        return self.op("Conv", [x, self.param(name)], kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)

    def batchnorm(self, x: str, prefix: str) -> str:
        names = [f"{prefix}.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        return self.op("BatchNormalization", [x, *map(self.param, names)], epsilon=BN_EPS)

    def linear(self, x: str, prefix: str, output: str | None = None) -> str:
        return self.op("Gemm", [x, self.param(f"{prefix}.weight"), self.param(f"{prefix}.bias")], output, transB=1)

    def bottleneck(self, x: str, block: Block) -> str:
        p = block.prefix
        y = self.op("Relu", [self.batchnorm(self.conv(x, f"{p}.conv1.weight"), f"{p}.bn1")])
        y = self.op("Relu", [self.batchnorm(self.conv(y, f"{p}.conv2.weight", block.stride), f"{p}.bn2")])
        y = self.batchnorm(self.conv(y, f"{p}.conv3.weight"), f"{p}.bn3")
        if block.downsample:
            x = self.batchnorm(self.conv(x, f"{p}.downsample.0.weight", block.stride), f"{p}.downsample.1")
        return self.op("Relu", [self.op("Add", [y, x])])


def build_onnx_model(weights: dict[str, np.ndarray], arch: Architecture | None = None):
    """Inference graph with symbolic batch/height/width so one model serves all shapes."""
    arch = arch or detect_architecture(weights)
    g = _GraphBuilder(weights)
    x = g.op("Relu", [g.batchnorm(g.conv("input", "conv1.weight", 2), "bn1")])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for stage in arch.stages:
        for block in stage:
            x = g.bottleneck(x, block)
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    for linear, bn in arch.head.hidden:  # Dropout is the identity at inference
        x = g.op("Relu", [g.batchnorm(g.linear(x, linear), bn)])
    g.linear(x, arch.head.final, output="logits")
    graph = helper.make_graph(
        g.nodes,
        "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", arch.num_classes])],
        initializer=list(g.initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              ir_version=ONNX_IR_VERSION, producer_name="resnet_reference")
    checker.check_model(model)
    return model


def make_session(model, threads: int = 2):
    """The settings the benchmark compares against: fixed threads, sequential, ALL optimizations."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------
# NumPy forward (NHWC internally; dtype preserved: float64 or complex128)
# ---------------------------------------------------------------------------


def conv2d(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """NHWC conv with OIHW weights, 'same'-style padding k//2, as one GEMM.

    1x1 convs skip im2col; others copy one strided window view into the
    (N*Ho*Wo, C*kh*kw) matrix, which matches w.reshape(O, C*kh*kw).
    """
    out_ch, in_ch, kh, kw = w.shape
    if kh == 1:
        x = x[:, ::stride, ::stride, :]
        return (x.reshape(-1, in_ch) @ w.reshape(out_ch, in_ch).T).reshape(*x.shape[:3], out_ch)
    pad = kh // 2
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # N,Ho,Wo,C,kh,kw
    n, ho, wo = windows.shape[:3]
    cols = windows.reshape(n * ho * wo, in_ch * kh * kw)
    return (cols @ w.reshape(out_ch, -1).T).reshape(n, ho, wo, out_ch)


def maxpool3x3s2(x: np.ndarray) -> np.ndarray:
    """-inf padding, as torch; argmax on the real part keeps complex inputs analytic."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    windows = sliding_window_view(xp, (3, 3), axis=(1, 2))[:, ::2, ::2]
    windows = windows.reshape(*windows.shape[:4], 9)
    best = windows.real.argmax(axis=-1)[..., None]
    return np.take_along_axis(windows, best, axis=-1)[..., 0]


def relu(x: np.ndarray) -> np.ndarray:
    return np.where(x.real > 0, x, 0)


def batchnorm(x: np.ndarray, w: dict[str, np.ndarray], prefix: str, batch_stats: bool) -> np.ndarray:
    """Channels are the last axis; batch statistics use the biased variance, as torch's forward."""
    axes = tuple(range(x.ndim - 1))
    if batch_stats:
        mean = x.mean(axis=axes)
        var = ((x - mean) ** 2).mean(axis=axes)
    else:
        mean, var = w[f"{prefix}.running_mean"], w[f"{prefix}.running_var"]
    return (x - mean) / np.sqrt(var + BN_EPS) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]


def linear(x: np.ndarray, w: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    return x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]


def bottleneck(x: np.ndarray, w: dict[str, np.ndarray], block: Block, batch_stats: bool) -> np.ndarray:
    p = block.prefix
    y = relu(batchnorm(conv2d(x, w[f"{p}.conv1.weight"], 1), w, f"{p}.bn1", batch_stats))
    y = relu(batchnorm(conv2d(y, w[f"{p}.conv2.weight"], block.stride), w, f"{p}.bn2", batch_stats))
    y = batchnorm(conv2d(y, w[f"{p}.conv3.weight"], 1), w, f"{p}.bn3", batch_stats)
    if block.downsample:
        x = batchnorm(conv2d(x, w[f"{p}.downsample.0.weight"], block.stride), w, f"{p}.downsample.1", batch_stats)
    return relu(y + x)


def run_module(name: str, x: np.ndarray, w: dict[str, np.ndarray], arch: Architecture, batch_stats: bool) -> np.ndarray:
    """One freezable unit of MODULES; the stem takes NHWC pixels, the head returns logits."""
    if name == "conv1":
        return maxpool3x3s2(relu(batchnorm(conv2d(x, w["conv1.weight"], 2), w, "bn1", batch_stats)))
    if name == "fc":
        x = x.mean(axis=(1, 2))
        for lin, bn in arch.head.hidden:  # Dropout is the identity in the reference
            x = relu(batchnorm(linear(x, w, lin), w, bn, batch_stats))
        return linear(x, w, arch.head.final)
    for block in arch.stages[STAGE_NAMES.index(name)]:
        x = bottleneck(x, w, block, batch_stats)
    return x


def module_inputs(x_nchw: np.ndarray, w: dict, arch: Architecture, trainable_from: str | None) -> list[np.ndarray]:
    """Input of every module, then the logits, so a probe can restart mid-network.

    trainable_from=None is inference: running statistics in every BatchNorm.
    """
    first_train = len(MODULES) if trainable_from is None else MODULES.index(trainable_from)
    acts = [np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))]
    for i, name in enumerate(MODULES):
        acts.append(run_module(name, acts[-1], w, arch, batch_stats=i >= first_train))
    return acts


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean softmax CE; the shift uses the real part so complex steps stay analytic."""
    shift = logits.real.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - shift).sum(axis=1)) + shift[:, 0]
    return (lse - logits[np.arange(len(labels)), labels]).mean()


def loss_from(start: int, x: np.ndarray, w: dict, arch: Architecture, labels: np.ndarray,
              trainable_from: str) -> np.ndarray:
    """Loss recomputed from module MODULES[start] on, given that module's input."""
    first_train = MODULES.index(trainable_from)
    for i in range(start, len(MODULES)):
        x = run_module(MODULES[i], x, w, arch, batch_stats=i >= first_train)
    return cross_entropy(x, labels)


def central_difference(w: dict, arch: Architecture, acts: list[np.ndarray], labels: np.ndarray,
                       trainable_from: str, name: str, index: int, eps: float) -> float:
    """(L(w+eps) - L(w-eps)) / 2eps for one scalar, rerunning only from the probe's module."""
    start = MODULES.index(module_of(name))
    param = w[name].reshape(-1)  # a view: perturbs w[name] in place
    original = param[index]
    losses = []
    for delta in (eps, -eps):
        param[index] = original + delta
        losses.append(float(loss_from(start, acts[start], w, arch, labels, trainable_from)))
    param[index] = original
    return (losses[0] - losses[1]) / (2 * eps)


def complex_step(w: dict, arch: Architecture, acts: list[np.ndarray], labels: np.ndarray,
                 trainable_from: str, name: str, index: int) -> float:
    """Im L(w + ih) / h: no subtraction, so h can be tiny and the result is exact to rounding.

    It is the derivative of the branch active at w (ReLU masks, max-pool picks),
    as backprop computes it, whereas a real step large enough to beat rounding
    crosses some of the ~10^5 kinks once early stages train.
    """
    start = MODULES.index(module_of(name))
    perturbed = w[name].astype(np.complex128)
    perturbed.reshape(-1)[index] += 1j * COMPLEX_STEP
    loss = loss_from(start, acts[start], {**w, name: perturbed}, arch, labels, trainable_from)
    return float(loss.imag / COMPLEX_STEP)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def parse_shape(text: str) -> tuple[int, ...]:
    shape = tuple(int(v) for v in text.split(","))
    if len(shape) != 4 or shape[1] != 3:
        raise argparse.ArgumentTypeError(f"shape must be N,3,H,W, got {text}")
    return shape


def read_input(path: str, shape: tuple[int, ...]) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    if data.size != np.prod(shape):
        raise SystemExit(f"{path}: {data.size} floats, shape {shape} needs {np.prod(shape)}")
    return data.reshape(shape)


def cmd_onnx_logits(args: argparse.Namespace) -> None:
    weights, _ = read_safetensors(args.weights)
    model = build_onnx_model(weights)
    if args.save_onnx:
        onnx.save(model, args.save_onnx)
    x = read_input(args.input, args.shape)
    (logits,) = make_session(model, threads=2).run(["logits"], {"input": x})
    logits.astype("<f4").tofile(args.output)
    print(f"logits {logits.shape} -> {args.output}", file=sys.stderr)


def float64_params(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """num_batches_tracked only matters to torch's momentum schedule; drop it."""
    return {k: v.astype(np.float64) for k, v in weights.items() if not k.endswith("num_batches_tracked")}


def cmd_fd_grads(args: argparse.Namespace) -> None:
    w = float64_params(read_safetensors(args.weights)[0])
    arch = detect_architecture(w)
    x = read_input(args.input, args.shape).astype(np.float64)
    labels = np.fromfile(args.labels, dtype="<i8")
    if labels.shape != (args.shape[0],) or labels.min() < 0 or labels.max() >= arch.num_classes:
        raise SystemExit(f"{args.labels}: need {args.shape[0]} labels in [0, {arch.num_classes})")
    probes = json.loads(Path(args.probes).read_text())
    for p in probes:
        if p["name"] not in w or not 0 <= p["index"] < w[p["name"]].size:
            raise SystemExit(f"bad probe {p}")
    acts = module_inputs(x, w, arch, args.trainable_from)
    context = (w, arch, acts, labels, args.trainable_from)
    results = [
        {"name": p["name"], "index": p["index"],
         "grad": (complex_step(*context, p["name"], p["index"]) if args.method == "complex-step"
                  else central_difference(*context, p["name"], p["index"], args.eps))}
        for p in probes
    ]
    out = {"loss": float(cross_entropy(acts[-1], labels)), "method": args.method, "probes": results,
           "logits": acts[-1].tolist()}
    Path(args.output).write_text(json.dumps(out, indent=1))
    print(f"loss {out['loss']:.6f}, {len(results)} probes -> {args.output}", file=sys.stderr)


def cmd_random_weights(args: argparse.Namespace) -> None:
    hidden = tuple(int(v) for v in args.hidden.split(",")) if args.hidden else ()
    weights = random_resnet50_weights(args.classes, hidden, args.seed)
    write_safetensors(args.output, weights, {"arch": "resnet50", "seed": args.seed})
    print(f"{len(weights)} tensors -> {args.output}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--weights", required=True, help="safetensors with torchvision names")
        p.add_argument("--input", required=True, help="raw little-endian float32 NCHW")
        p.add_argument("--shape", required=True, type=parse_shape, help="N,3,H,W")

    p = sub.add_parser("onnx-logits", help="float32 logits from onnxruntime (inference semantics)")
    common(p)
    p.add_argument("--output", required=True, help="raw float32 logits [N,K]")
    p.add_argument("--save-onnx", help="also write the ONNX model here")
    p.set_defaults(func=cmd_onnx_logits)

    p = sub.add_parser("fd-grads", help="float64 finite-difference gradients (training semantics)")
    common(p)
    p.add_argument("--labels", required=True, help="raw little-endian int64 [N]")
    p.add_argument("--trainable-from", required=True, choices=MODULES)
    p.add_argument("--probes", required=True, help='JSON list of {"name": ..., "index": flat index}')
    p.add_argument("--output", required=True, help="JSON with loss, probes[].grad, logits")
    p.add_argument("--method", choices=("central", "complex-step"), default="central",
                   help="complex-step is exact; central differences are kink-limited when early stages train")
    p.add_argument("--eps", type=float, default=1e-5,
                   help="central step; 1e-3 often straddles a ReLU/max-pool kink (errors ~1e-2 at 64x64), "
                        "1e-5 agreed with complex step to <3e-7 for --trainable-from layer4")
    p.set_defaults(func=cmd_fd_grads)

    p = sub.add_parser("random-weights", help="random ResNet-50 safetensors fixture")
    p.add_argument("--output", required=True)
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--hidden", default="", help="comma-separated MLP widths; empty for plain fc")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_random_weights)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
