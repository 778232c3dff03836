#!/usr/bin/env bash
# SkinLesion vs ONNX Runtime on ResNet-50, 2 threads, in one run on one machine.
# Usage: benchmarks/resnet50.sh   (from anywhere; needs swift and .build/venv with onnx + onnxruntime)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
THREADS=2
export OMP_NUM_THREADS=$THREADS
PYTHON=.build/venv/bin/python
[[ -x $PYTHON ]] || { echo "missing $PYTHON (a venv with numpy, onnx, onnxruntime)" >&2; exit 1; }

results=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-resnet50.XXXXXX")
echo "results in $results" >&2

echo "building (swift build -c release) ..." >&2
swift build -c release >"$results/build.log" 2>&1 || { cat "$results/build.log" >&2; exit 1; }

# One after the other, so neither competes with the other for the cores.
echo "running skinlesion bench ..." >&2
.build/release/skinlesion bench --arch resnet50 --json --threads "$THREADS" >"$results/skinlesion.json"
echo "running onnxruntime ..." >&2
"$PYTHON" benchmarks/ort_resnet50.py --threads "$THREADS" >"$results/onnxruntime.json"

"$PYTHON" benchmarks/compare.py "$results/skinlesion.json" "$results/onnxruntime.json"
echo "raw JSON: $results/skinlesion.json $results/onnxruntime.json" >&2
