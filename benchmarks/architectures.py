#!/usr/bin/env python3
"""ONNX Runtime peer and summary table for benchmarks/architectures.sh.

  architectures.py ort --arch A --weights W.safetensors --size S --batch N [--runs R] [--latency-runs L]
      Runs the network `skinlesion bench --save-weights W` measured (same topology, same
      random values) in ONNX Runtime and prints one JSON object; progress on stderr.
  architectures.py table --dir D --batch N ARCH ...
      Reads D/ARCH.skinlesion.json and D/ARCH.ort.json and prints one markdown table.

The graphs are the parity references the Swift models are tested against, so ORT runs the
network ours is checked to compute: tools/resnet_reference.py, tools/efficientnet_reference.py
and tools/keras_backbones_reference.py (which also builds InceptionV3 and Xception). Each
runs in the session its parity test uses: 2 intra-op threads, sequential, all graph
optimizations; the Keras backbones without ORT's Pad_Fusion rewrite, which gives wrong
border values for a zero Pad ahead of MaxPool (see keras_backbones_reference.session).
Timing follows `skinlesion bench`: batch 1 with 3 untimed runs then the median of L,
batch N with 1 untimed run then the median of R.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import efficientnet_reference  # noqa: E402
import keras_backbones_reference as keras_ref  # noqa: E402
import resnet_reference  # noqa: E402

LATENCY_WARMUP, BATCH_WARMUP = 3, 1  # as ModelBenchmark.run


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def session_for(arch: str, weights: dict[str, np.ndarray], size: int, threads: int) -> ort.InferenceSession:
    """The ONNX graph and session settings of `arch`'s parity test."""
    if arch == "resnet50":
        model, keras_session = resnet_reference.build_onnx_model(weights), False
    elif arch.startswith("efficientnet-lite"):
        model, keras_session = efficientnet_reference.build_onnx_model(weights, size, size), False
    elif arch in keras_ref.SEPARATE_BUILDERS:
        model, keras_session = keras_ref.SEPARATE_BUILDERS[arch](weights), True
    elif arch in keras_ref.BUILDERS:
        model, keras_session = keras_ref.build_onnx_model(arch, weights, size, size), True
    else:
        raise SystemExit(f"no ONNX reference for {arch}")
    # Every tensor in the file must be in the graph, or ORT would run a different (smaller)
    # network than ours: a head or block the builder skipped would go unnoticed otherwise.
    unused = set(weights) - {t.name for t in model.graph.initializer}
    if unused:
        raise SystemExit(f"{arch}: the ONNX graph leaves out {sorted(unused)[:5]} ({len(unused)} tensors)")
    if keras_session:
        return keras_ref.session(model, threads)
    return resnet_reference.make_session(model, threads)


def timed(session: ort.InferenceSession, x: np.ndarray, warmup: int, runs: int) -> list[float]:
    feed = {"input": x}
    for _ in range(warmup):
        (logits,) = session.run(["logits"], feed)
    # Vanishing or exploding activations (denormals, infs) could skew timings; say so.
    log(f"  max |logit| {float(np.abs(logits).max()):.3g}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(["logits"], feed)
        times.append(time.perf_counter() - start)
    return times


def cmd_ort(args: argparse.Namespace) -> None:
    weights, _ = resnet_reference.read_safetensors(args.weights)
    weights = {k: v for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    log(f"{args.arch}: onnxruntime {ort.__version__}, {args.threads} threads, {args.size}x{args.size}")
    session = session_for(args.arch, weights, args.size, args.threads)
    rng = np.random.default_rng(0)

    x1 = rng.standard_normal((1, 3, args.size, args.size), dtype=np.float32)
    times = timed(session, x1, LATENCY_WARMUP, args.latency_runs)
    latency = statistics.median(times)
    # A median far above the minimum means something else wanted the cores.
    log(f"  batch 1: median {latency * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms over {len(times)} runs")

    xn = rng.standard_normal((args.batch, 3, args.size, args.size), dtype=np.float32)
    times = timed(session, xn, BATCH_WARMUP, args.runs)
    per_batch = statistics.median(times)
    log(f"  batch {args.batch}: median {per_batch:.2f} s, min {min(times):.2f} s over {len(times)} runs")

    print(json.dumps({"peer": "onnxruntime", "version": ort.__version__, "arch": args.arch,
                      "threads": args.threads, "batch": args.batch, "input_size": args.size,
                      "batch1_latency_ms": round(latency * 1e3, 2),
                      "batch_images_per_s": round(args.batch / per_batch, 2)}))


def load(path: Path) -> dict:
    """An architecture whose run failed or was skipped shows as dashes, not as a crash."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def ratio(ours: float | None, peer: float | None, latency: bool) -> str:
    """Ours as a multiple of ORT's speed, so above 1 always means SkinLesion is faster."""
    if not ours or not peer:
        return "—"
    return f"{(peer / ours if latency else ours / peer):.2f}×"


def cmd_table(args: argparse.Namespace) -> None:
    n = args.batch
    header = ["arch", "input", "ours b1 ms", "ORT b1 ms", "× ORT (b1)", f"ours b{n} img/s", f"ORT b{n} img/s",
              f"× ORT (b{n})", f"ours train full img/s (b{n})"]
    rows = []
    for arch in args.archs:
        ours, peer = load(args.dir / f"{arch}.skinlesion.json"), load(args.dir / f"{arch}.ort.json")
        # `skinlesion bench` names its key batch32 whatever --batch was; the script passes the same N to both.
        ob1, pb1 = ours.get("batch1_latency_ms"), peer.get("batch1_latency_ms")
        obn, pbn = ours.get("batch32_images_per_s"), peer.get("batch_images_per_s")
        size = peer.get("input_size")
        rows.append([arch, f"{size}²" if size else "—", fmt(ob1), fmt(pb1), ratio(ob1, pb1, True),
                     fmt(obn), fmt(pbn), ratio(obn, pbn, False), fmt(ours.get("train_full_images_per_s"), 2)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print("\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ort", help="ONNX Runtime timings of one architecture")
    p.add_argument("--arch", required=True)
    p.add_argument("--weights", required=True, help="from `skinlesion bench --save-weights`")
    p.add_argument("--size", type=int, required=True, help="input height and width")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, default=2, help="intra-op threads")
    p.add_argument("--latency-runs", type=int, default=20, help="timed batch-1 runs (median reported)")
    p.add_argument("--runs", type=int, default=3, help="timed batch-N runs (median reported)")
    p.set_defaults(func=cmd_ort)
    p = sub.add_parser("table", help="markdown table of a run's JSON files")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("archs", nargs="+")
    p.set_defaults(func=cmd_table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
