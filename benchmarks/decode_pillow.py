"""Pillow's side of benchmarks/decode.sh: the same input pipeline as `skinlesion bench-decode`.

Per image: open, decode to RGB, resize the shorter side to SIZE with BILINEAR and
reducing_gap=None (torchvision's Resize), centre crop SIZE x SIZE (torchvision's CenterCrop),
to a float32 C x H x W array with ImageNet mean/std (torchvision's ToTensor + Normalize).
Measured twice: "plain" decodes at full size; "draft" first calls Image.draft("RGB", (SIZE, SIZE)),
which makes libjpeg downscale by 1/2, 1/4 or 1/8 while decoding (what SkinLesion does too).
Each with 1 process and with 2 processes (multiprocessing, each process its own files).
Prints JSON to stdout, progress to stderr.

Usage: decode_pillow.py DIR [--size 224] [--processes 1,2] [--passes 3]
"""
import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def load(path, size, draft):
    with Image.open(path) as image:
        if draft:
            image.draft("RGB", (size, size))
        image = image.convert("RGB")
    w, h = image.size
    new_w, new_h = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=None)
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return np.ascontiguousarray(((pixels - MEAN) / STD).transpose(2, 0, 1))


def work(job):
    paths, size, draft = job
    for path in paths:
        load(path, size, draft)
    return len(paths)


def measure(paths, size, draft, processes, passes):
    """Images per second: one untimed pass, then the median wall time of `passes` passes."""
    jobs = [(paths[i::processes], size, draft) for i in range(processes)]
    times = []
    if processes == 1:
        work(jobs[0])
        for _ in range(passes):
            start = time.perf_counter()
            work(jobs[0])
            times.append(time.perf_counter() - start)
    else:
        with multiprocessing.Pool(processes) as pool:
            pool.map(work, jobs)
            for _ in range(passes):
                start = time.perf_counter()
                pool.map(work, jobs)
                times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"processes": processes, "images_per_s": len(paths) / median,
            "ms_per_image_per_process": median * 1000 * processes / len(paths)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--processes", default="1,2", help="comma-separated process counts")
    parser.add_argument("--passes", type=int, default=3, help="timed passes per measurement (median reported)")
    args = parser.parse_args()
    paths = sorted(str(p) for p in args.directory.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if not paths:
        sys.exit(f"no .jpg or .jpeg files under {args.directory}")
    counts = [int(c) for c in args.processes.split(",")]
    result = {"pillow": PIL.__version__, "files": len(paths), "size": args.size}
    for name, draft in (("plain", False), ("draft", True)):
        result[name] = []
        for processes in counts:
            print(f"decode_pillow: {name}, {len(paths)} files, {processes} process(es)", file=sys.stderr)
            result[name].append(measure(paths, args.size, draft, processes, args.passes))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
