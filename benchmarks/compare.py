#!/usr/bin/env python3
"""Side-by-side table of `skinlesion bench --arch resnet50 --json` and benchmarks/ort_resnet50.py.

Usage: compare.py SKINLESION.json ORT.json

"× of ORT speed" is SkinLesion's speed divided by ONNX Runtime's (for latency,
ORT's time divided by ours): above 1 means SkinLesion is faster. "% of FP32
peak" is achieved GFLOP/s over the measured 2-thread FMA peak, so it shows how
much headroom is left whatever the peer does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PEAK_GFLOPS = 202.0  # FP32 FMA peak of 2 threads on this machine, measured (../shared/NOTES.md)
DEFAULT_GFLOP_PER_IMAGE = 8.18  # ResNet-50 forward at 224x224, 2 FLOPs per multiply-add
FULL_TRAINING_FACTOR = 3.0  # forward + backward-data + backward-weights

# Published peers, measured on the same kind of machine with 2 threads (../shared/NOTES.md).
# Keys follow the SkinLesion JSON; None where no figure was published.
REFERENCE_PEERS = {
    "PyTorch 2.13 (channels_last)": {
        "batch1_latency_ms": 65.0, "batch32_images_per_s": 20.0, "train_head_images_per_s": 20.1,
        "train_last_stage_images_per_s": 13.6, "train_full_images_per_s": 4.5,
    },
    "Keras 3.15 / TF 2.21": {
        "batch1_latency_ms": 62.0, "batch32_images_per_s": None, "train_head_images_per_s": 17.7,
        "train_last_stage_images_per_s": 10.7, "train_full_images_per_s": 3.3,
    },
}

# (JSON key, row label, unit kind, FLOP multiple of one forward or None when it is not meaningful)
ROWS = [
    ("batch1_latency_ms", "inference, batch 1 (ms)", "latency", 1.0),
    ("batch32_images_per_s", "inference, batch 32 (img/s)", "throughput", 1.0),
    ("train_head_images_per_s", "training, head only (img/s)", "throughput", None),
    ("train_last_stage_images_per_s", "training, layer4 + head (img/s)", "throughput", None),
    ("train_full_images_per_s", "training, full network (img/s)", "throughput", FULL_TRAINING_FACTOR),
    ("peak_rss_inference_mib", "peak RSS, inference (MiB)", "memory", None),
    ("peak_rss_training_mib", "peak RSS, training (MiB)", "memory", None),
]


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def speed_ratio(ours: float | None, peer: float | None, kind: str) -> str:
    """Ours as a multiple of the peer's speed, so >1 always means SkinLesion is faster."""
    if ours is None or peer is None or kind == "memory":
        return "n/a"
    return f"{(peer / ours if kind == 'latency' else ours / peer):.2f}×"


def percent_of_peak(value: float | None, kind: str, flop_factor: float | None, gflop: float) -> str:
    """Partial training does part of the backward pass, so its FLOP count is not a fixed multiple."""
    if value is None or flop_factor is None:
        return "n/a"
    images_per_s = 1e3 / value if kind == "latency" else value
    return f"{100 * images_per_s * gflop * flop_factor / PEAK_GFLOPS:.0f}%"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def measured_table(ours: dict, ort: dict, gflop: float) -> str:
    rows = []
    for key, label, kind, factor in ROWS:
        mine, peer = ours.get(key), ort.get(key)
        digits = 0 if kind == "memory" else 1
        rows.append([label, fmt(mine, digits), fmt(peer, digits), speed_ratio(mine, peer, kind),
                     percent_of_peak(mine, kind, factor, gflop), percent_of_peak(peer, kind, factor, gflop)])
    header = ["measurement", "SkinLesion", f"ONNX Runtime {ort.get('version', '')}".strip(),
              "× of ORT speed", "SkinLesion % of FP32 peak", "ORT % of FP32 peak"]
    return markdown(header, rows)


def reference_table(ours: dict) -> str:
    header = ["measurement", "SkinLesion (this run)"]
    for peer in REFERENCE_PEERS:
        header += [peer, f"× of {peer.split()[0]} speed"]
    rows = []
    for key, label, kind, _ in ROWS:
        if kind == "memory":
            continue
        row = [label, fmt(ours.get(key))]
        for figures in REFERENCE_PEERS.values():
            row += [fmt(figures[key]), speed_ratio(ours.get(key), figures[key], kind)]
        rows.append(row)
    return markdown(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("skinlesion", type=Path, help="JSON from `skinlesion bench --arch resnet50 --json`")
    parser.add_argument("ort", type=Path, help="JSON from benchmarks/ort_resnet50.py")
    args = parser.parse_args()
    ours, ort = json.loads(args.skinlesion.read_text()), json.loads(args.ort.read_text())
    gflop = ours.get("gflop_per_image", DEFAULT_GFLOP_PER_IMAGE)
    threads = ours.get("threads", "?"), ort.get("threads", "?")
    print(f"ResNet-50, 224×224, FP32; threads: SkinLesion {threads[0]}, ONNX Runtime {threads[1]}; "
          f"{gflop} GFLOP/image forward, peak {PEAK_GFLOPS:.0f} GFLOP/s; full training counted as "
          f"{FULL_TRAINING_FACTOR:.0f}× forward\n")
    print(measured_table(ours, ort, gflop))
    print("\nReference figures (not measured in this run; same kind of machine, 2 threads, ../shared/NOTES.md):\n")
    print(reference_table(ours))


if __name__ == "__main__":
    main()
