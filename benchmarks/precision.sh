#!/usr/bin/env bash
# ResNet-50 at every precision, one table, one run, one machine (issue #11): SkinLesion FP32 / INT8
# (and BF16 where the CPU has AVX512_BF16) against ONNX Runtime FP32 and static INT8 (quantize_static,
# QDQ, per-channel, on the ONNX file `skinlesion export` writes of the same network and weights) and
# PyTorch FP32 and BF16 autocast (CPU wheel, channels_last). Batch 1 latency, batch-32 throughput and
# training (head only, last stage + head, full), 2 threads. The
# table names the CPU and the ISA oneDNN reports. Measure only on a quiet machine (see `uptime`).
# Usage: benchmarks/precision.sh   (env: BATCH (32), RUNS (3), LATENCY_RUNS (20), THREADS (2), and BIN: an
#        already built skinlesion to measure instead of building one with `swift build -c release`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
RUNS=${RUNS:-3}
LATENCY_RUNS=${LATENCY_RUNS:-20}
export OMP_NUM_THREADS=$THREADS
PYTHON=.build/venv/bin/python
[[ -x $PYTHON ]] || { echo "missing $PYTHON (a venv with numpy, onnx, onnxruntime, torch; see scripts/setup)" >&2; exit 1; }

results=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-precision.XXXXXX")
echo "results in $results" >&2
echo "load before: $(uptime)" >&2
if [[ -z ${BIN:-} ]]; then
    swift build -c release >"$results/build.log" 2>&1 || { cat "$results/build.log" >&2; exit 1; }
    BIN=.build/release/skinlesion
fi
bin="$results/skinlesion"
cp "$BIN" "$bin"   # a rebuild during the run cannot swap the binary under it
lscpu | sed -n 's/^Model name: *//p' >"$results/cpu.txt"

bench() {  # precision, then extra options
    local precision=$1; shift
    echo "skinlesion bench --precision $precision ..." >&2
    "$bin" bench --arch resnet50 --json --threads "$THREADS" --batch "$BATCH" --runs "$RUNS" \
        --latency-runs "$LATENCY_RUNS" --precision "$precision" "$@" >"$results/skinlesion-$precision.json" \
        || { echo "skinlesion bench --precision $precision failed (see above)" >&2; rm -f "$results/skinlesion-$precision.json"; }
}
bench fp32 --save-weights "$results/weights.safetensors"
bench int8
bench bf16   # refused, and left out of the table, where the CPU lacks AVX512_BF16

# The same network and weights for the peers: a model file, then ONNX.
"$bin" import --from "$results/weights.safetensors" --arch resnet50 --output "$results/model.safetensors" >&2
"$bin" export --model "$results/model.safetensors" --output "$results/model.onnx" >&2
peer() {  # name, then precision.py arguments
    local name=$1; shift
    echo "$name ..." >&2
    "$PYTHON" benchmarks/precision.py "$@" --threads "$THREADS" --batch "$BATCH" --runs "$RUNS" \
        --latency-runs "$LATENCY_RUNS" >"$results/$name.json" || { echo "$name failed" >&2; rm -f "$results/$name.json"; }
}
peer ort-fp32 ort --onnx "$results/model.onnx"
peer ort-int8 ort --onnx "$results/model.onnx" --int8
peer torch-fp32 torch
peer torch-bf16 torch --bf16

echo "load after: $(uptime)" >&2
"$PYTHON" benchmarks/precision.py table --dir "$results" --batch "$BATCH"
echo "raw JSON: $results" >&2
