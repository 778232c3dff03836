#!/usr/bin/env bash
# Training data loader vs the engine it feeds, in one run: images/s the loader delivers with
# the dermoscopy augmentation preset (decode, augment, normalize, batch) next to ResNet-50's
# fastest training mode (head only). The loader must be faster, or the model waits for data.
# Usage: benchmarks/loader.sh [DATASET]   (default: ../shared/data/ham10000-sample)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dataset=${1:-../shared/data/ham10000-sample}
[ -e "$dataset" ] || { echo "no dataset at $dataset (see ../shared/data/README.md)" >&2; exit 1; }
export OMP_NUM_THREADS=2
results=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-loader.XXXXXX")
swift build -c release >"$results/build.log" 2>&1 || { cat "$results/build.log" >&2; exit 1; }
.build/release/skinlesion bench-loader "$dataset" --augment dermoscopy --threads 1,2 --json >"$results/loader.json"
.build/release/skinlesion bench --arch resnet50 --threads 2 --runs 2 --latency-runs 3 --json >"$results/engine.json"
python3 - "$results/loader.json" "$results/engine.json" <<'PY'
import json, sys
loader = json.load(open(sys.argv[1]))
engine = json.load(open(sys.argv[2]))
fastest = max(engine["train_head_images_per_s"], engine["train_last_stage_images_per_s"], engine["train_full_images_per_s"])
print(f"engine, fastest training mode (head only, batch 32): {fastest:.1f} img/s")
print("| loader threads | img/s (dermoscopy augmentation) | × engine training speed |")
print("| --- | --- | --- |")
for run in loader:
    print(f"| {run['threads']} | {run['images_per_s']:.1f} | {run['images_per_s'] / fastest:.1f}× |")
PY
echo "raw JSON: $results" >&2
