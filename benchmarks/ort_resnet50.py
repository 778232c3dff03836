#!/usr/bin/env python3
"""ONNX Runtime peer for `skinlesion bench --arch resnet50`: same network, same threads, same input sizes.

Random weights are enough: the cost of a dense float32 ResNet-50 does not depend
on the values. The graph comes from tools/resnet_reference.py, so it is the
network the Swift outputs are checked against.

Prints one JSON object to stdout; progress goes to stderr.
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
import resnet_reference as ref  # noqa: E402

IMAGE_SIZE = 224
WARMUP_RUNS = 5
BATCH = 32


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed_runs(session: ort.InferenceSession, x: np.ndarray, warmup: int, runs: int) -> list[float]:
    """Seconds per run after warm-up, which absorbs allocation and kernel selection."""
    feed = {"input": x}
    for _ in range(warmup):
        session.run(["logits"], feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(["logits"], feed)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads")
    parser.add_argument("--runs", type=int, default=20, help="timed batch-1 runs (at least 20)")
    parser.add_argument("--batch-runs", type=int, default=3, help="timed batch-32 runs (at least 3)")
    args = parser.parse_args()
    runs, batch_runs = max(args.runs, 20), max(args.batch_runs, 3)

    log(f"building ResNet-50 (random weights, fc 1000), onnxruntime {ort.__version__}, {args.threads} threads")
    session = ref.make_session(ref.build_onnx_model(ref.random_resnet50_weights(num_classes=1000)), args.threads)
    rng = np.random.default_rng(0)

    x1 = rng.standard_normal((1, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    times = timed_runs(session, x1, WARMUP_RUNS, runs)
    latency_ms = statistics.median(times) * 1e3
    # A median far above the minimum means something else wanted the cores: rerun on a quiet machine.
    log(f"batch 1: median {latency_ms:.1f} ms, min {min(times) * 1e3:.1f} ms over {runs} runs")

    x32 = rng.standard_normal((BATCH, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    times = timed_runs(session, x32, 1, batch_runs)
    per_batch = statistics.median(times)
    log(f"batch {BATCH}: median {per_batch:.2f} s, min {min(times):.2f} s over {batch_runs} runs")

    print(json.dumps({
        "peer": "onnxruntime",
        "version": ort.__version__,
        "threads": args.threads,
        "batch1_latency_ms": round(latency_ms, 2),
        "batch32_images_per_s": round(BATCH / per_batch, 2),
    }))


if __name__ == "__main__":
    main()
