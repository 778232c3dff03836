#!/usr/bin/env bash
# Data-parallel training on this machine, in one run (benchmarks/README.md, "Distributed"):
#   1 rank × 2 oneDNN threads, then 2 ranks × 1 thread under mpirun (per-rank BatchNorm, then --sync-bn), the
#   same full fine-tuning command (global batch 32) on the HAM10000 sample in ../shared/data; then the allreduce figures rank 0 logs
#   (gradient bytes reduced and milliseconds waited per step) and a scaling model for N nodes at 10, 25 and
#   100 Gb/s built from the measured compute time and the ring-allreduce cost 2(N−1)/N × gradient bytes.
# Usage: benchmarks/distributed.sh [ARCH [EPOCHS]]   (default resnet50 3; run it on a quiet machine;
#        SKINLESION_BIN=path uses an existing build instead of `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-resnet50}
epochs=${2:-3}
data=../shared/data/ham10000-sample
[ -d "$data" ] || { echo "distributed.sh: $data is missing" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "distributed.sh: mpirun is missing (scripts/setup installs openmpi-bin)" >&2; exit 1; }
bin=${SKINLESION_BIN:-}
if [ -z "$bin" ]; then swift build -c release >&2; bin=.build/release/skinlesion; fi
work=$(mktemp -d)
echo "distributed.sh: runs and logs in $work" >&2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(train --dataset "$data" --arch "$arch" --epochs "$epochs" --batch-size 32 --freeze none
      --augment none --no-feature-cache --seed 1)

OMP_NUM_THREADS=2 "$bin" "${args[@]}" --threads 2 --output "$work/one" 2> "$work/one.err" > /dev/null
# Open MPI's default binding for two ranks (each to a core of its own).
for run in two two-sync; do
    extra=(); [ "$run" = two-sync ] && extra=(--sync-bn)
    OMP_NUM_THREADS=1 mpirun -np 2 --oversubscribe --bind-to core "$bin" "${args[@]}" "${extra[@]}" --threads 1 \
        --output "$work/$run" 2> "$work/$run.err" > /dev/null
done

"${PYTHON:-.build/venv/bin/python}" - "$work" <<'PY'
import csv, re, sys
work = sys.argv[1]
def rate(run):  # mean over the epochs after the first, whose first steps create oneDNN's primitives
    rows = list(csv.DictReader(open(f"{work}/{run}/log.csv")))
    rows = rows[1:] or rows
    return sum(float(r["train_images_per_s"]) for r in rows) / len(rows)
one = rate("one")
def allreduce(run):
    found = [m for m in (re.search(r"allreduce: ([\d.]+) MB .* ([\d.]+) ms per step waiting", l)
                         for l in open(f"{work}/{run}.err")) if m]
    return float(found[-1].group(1)), float(found[-1].group(2))
print("| configuration | img/s | × of 1 rank × 2 threads | ms per step | allreduce wait ms/step | MB reduced/step |")
print("| --- | --- | --- | --- | --- | --- |")
print(f"| 1 rank × 2 threads | {one:.2f} | 1.00 | {32 / one * 1000:.0f} | — | — |")
for run, label in (("two", "2 ranks × 1 thread, per-rank BatchNorm"), ("two-sync", "2 ranks × 1 thread, --sync-bn")):
    two = rate(run)
    megabytes, wait_ms = allreduce(run)
    print(f"| {label} | {two:.2f} | {two / one:.2f} | {32 / two * 1000:.0f} | {wait_ms:.1f} | {megabytes:.1f} |")
print()
# Scaling model: each node computes a global batch share at the measured 1-node speed (2 threads),
# then waits for a ring allreduce of the gradients, counted in full (the part that overlaps backward is not
# subtracted, so the model is pessimistic).
compute_s = 32 / one
print("| nodes | link | allreduce s/step | img/s (32 per node per step) | efficiency |")
print("| --- | --- | --- | --- | --- |")
for n in (2, 4, 8, 16, 64):
    for gbit in (10, 25, 100):
        ring = 2 * (n - 1) / n * megabytes * 1e6 * 8 / (gbit * 1e9)
        throughput = n * 32 / (compute_s + ring)
        print(f"| {n} | {gbit} Gb/s | {ring:.3f} | {throughput:.1f} | {compute_s / (compute_s + ring):.1%} |")
PY
