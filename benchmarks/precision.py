#!/usr/bin/env python3
"""Peers for benchmarks/precision.sh: ONNX Runtime FP32 and static INT8 on the ONNX file
`skinlesion export` wrote, PyTorch FP32 and BF16 autocast (channels_last) on a plain torch.nn ResNet-50,
inference and training, and the table of all of them next to `skinlesion bench --precision ...`.

  precision.py ort --onnx M.onnx [--int8] --threads 2 --batch 32 --runs 3 --latency-runs 20
  precision.py torch [--bf16] --threads 2 --batch 32 --runs 3 --latency-runs 20
  precision.py table --dir RESULTS --batch 32

Each measuring command prints one JSON object to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

SIZE = 224


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_seconds(run, warmup: int, runs: int) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    log(f"  median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms over {runs} runs")
    return statistics.median(times)


def measure(run_batch, args) -> dict:
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((1, 3, SIZE, SIZE), dtype=np.float32)
    xn = rng.standard_normal((args.batch, 3, SIZE, SIZE), dtype=np.float32)
    log("batch 1")
    latency = median_seconds(lambda: run_batch(x1), 3, args.latency_runs)
    log(f"batch {args.batch}")
    per_batch = median_seconds(lambda: run_batch(xn), 1, args.runs)
    return {"batch1_latency_ms": round(latency * 1e3, 2), "batchN_images_per_s": round(args.batch / per_batch, 2)}


def ort_command(args) -> None:
    import onnxruntime as ort

    path = args.onnx
    if args.int8:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        class Noise(CalibrationDataReader):
            """Calibration on noise, as `skinlesion bench --precision int8` does: speed does not depend on it."""

            def __init__(self) -> None:
                rng = np.random.default_rng(1)
                self.batches = iter([{"image": rng.standard_normal((4, 3, SIZE, SIZE), dtype=np.float32)} for _ in range(2)])

            def get_next(self):
                return next(self.batches, None)

        prepared = str(Path(args.onnx).with_suffix(".pre.onnx"))
        quant_pre_process(args.onnx, prepared)
        path = str(Path(args.onnx).with_suffix(".int8.onnx"))
        log(f"quantize_static (QDQ, per-channel s8 weights, u8 activations) → {path}")
        quantize_static(prepared, path, Noise(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    log(f"onnxruntime {ort.__version__} {'INT8' if args.int8 else 'FP32'}, {args.threads} threads")
    result = measure(lambda x: session.run(["logits"], {"image": x}), args)
    print(json.dumps({"peer": "onnxruntime", "version": ort.__version__, "precision": "int8" if args.int8 else "fp32", **result}))


def torch_command(args) -> None:
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, inplanes: int, width: int, stride: int) -> None:
            super().__init__()
            out = width * 4
            self.conv1, self.bn1 = nn.Conv2d(inplanes, width, 1, bias=False), nn.BatchNorm2d(width)
            self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
            self.conv3, self.bn3 = nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
                               if stride != 1 or inplanes != out else None)

        def forward(self, x):
            identity = self.downsample(x) if self.downsample is not None else x
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            return self.relu(self.bn3(self.conv3(y)) + identity)

    def resnet50(classes: int) -> nn.Module:
        layers, inplanes = [], 64
        for index, blocks in enumerate([3, 4, 6, 3]):
            width = 64 << index
            for block in range(blocks):
                layers.append(Bottleneck(inplanes, width, 2 if block == 0 and index > 0 else 1))
                inplanes = width * 4
        return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                             nn.MaxPool2d(3, 2, 1), *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(2048, classes))

    torch.set_num_threads(args.threads)
    model = resnet50(7).to(memory_format=torch.channels_last)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)
    precision = "bf16" if args.bf16 else "fp32"
    log(f"pytorch {torch.__version__} {precision.upper()}{' autocast' if args.bf16 else ''} channels_last, {args.threads} threads")

    def run(x):
        with torch.inference_mode(), autocast:
            model.eval()(torch.from_numpy(x).contiguous(memory_format=torch.channels_last))

    result = measure(run, args)
    # Training steps as `skinlesion bench` times them: batch N, SGD, the frozen prefix forward only
    # (no graph, BatchNorm on running statistics), the trainable suffix forward and backward.
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.standard_normal((args.batch, 3, SIZE, SIZE), dtype=np.float32)).contiguous(
        memory_format=torch.channels_last)
    labels = torch.from_numpy(rng.integers(0, 7, args.batch))
    # nn.Sequential indices: stem 0–3, bottlenecks 4–19 (layer4 is 17–19), pooling and fc 20–22.
    for key, first_trained in (("train_head_images_per_s", 20), ("train_last_stage_images_per_s", 17),
                               ("train_full_images_per_s", 0)):
        frozen, trained = model[:first_trained], model[first_trained:]
        optimizer = torch.optim.SGD(trained.parameters(), lr=1e-3, momentum=0.9)

        def step():
            frozen.eval()
            trained.train()
            with torch.no_grad(), autocast:
                features = frozen(x)
            with autocast:
                loss = nn.functional.cross_entropy(trained(features).float(), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        log(f"train, trainable from module {first_trained}")
        result[key] = round(args.batch / median_seconds(step, 1, args.runs), 2)
    print(json.dumps({"peer": "pytorch", "version": torch.__version__, "precision": precision, **result}))


def table_command(args) -> None:
    d = Path(args.dir)

    def load(name: str):
        path = d / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() and path.stat().st_size else None

    ours = {p: load(f"skinlesion-{p}") for p in ("fp32", "bf16", "int8")}
    rows = [("SkinLesion FP32", ours["fp32"]), ("SkinLesion BF16", ours["bf16"]), ("SkinLesion INT8", ours["int8"]),
            ("ORT FP32", load("ort-fp32")), ("ORT INT8 (QDQ, per-channel)", load("ort-int8")),
            ("PyTorch FP32 (channels_last)", load("torch-fp32")),
            ("PyTorch BF16 autocast (channels_last)", load("torch-bf16"))]
    first = next((r for r in ours.values() if r), {})
    cpu = (d / "cpu.txt").read_text().strip() if (d / "cpu.txt").exists() else platform.processor()
    print(f"ResNet-50 224², {first.get('threads', '?')} threads; CPU: {cpu}; oneDNN ISA: {first.get('isa', '?')}")
    for precision, result in ours.items():
        if result:
            print(f"  SkinLesion {precision} convolution kernels: {', '.join(result['convolution_implementations'])}")
    print()
    print(f"| work | {' | '.join(name for name, _ in rows)} |")
    print(f"| --- |{' --- |' * len(rows)}")

    def cell(result, key: str, fmt: str) -> str:
        if result is None:
            return "—"
        value = result.get(key)
        return fmt.format(value) if value is not None else "—"

    latency = [cell(r, "batch1_latency_ms", "{:.1f} ms") for _, r in rows]
    throughput = [cell(r, "batch32_images_per_s" if r is not None and "batch32_images_per_s" in r else "batchN_images_per_s",
                       "{:.1f} img/s") for _, r in rows]
    print(f"| batch-1 latency | {' | '.join(latency)} |")
    print(f"| batch-{args.batch} inference | {' | '.join(throughput)} |")
    for label, key in (("head only", "train_head_images_per_s"), ("last stage + head", "train_last_stage_images_per_s"),
                       ("full", "train_full_images_per_s")):
        print(f"| train {label}, batch {args.batch} | {' | '.join(cell(r, key, '{:.1f} img/s') for _, r in rows)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("ort", "torch"):
        p = sub.add_parser(name)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--batch", type=int, default=32)
        p.add_argument("--runs", type=int, default=3)
        p.add_argument("--latency-runs", type=int, default=20)
        if name == "ort":
            p.add_argument("--onnx", required=True)
            p.add_argument("--int8", action="store_true")
        else:
            p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (emulated where the CPU lacks AVX512_BF16)")
    t = sub.add_parser("table")
    t.add_argument("--dir", required=True)
    t.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    {"ort": ort_command, "torch": torch_command, "table": table_command}[args.command](args)


if __name__ == "__main__":
    main()
