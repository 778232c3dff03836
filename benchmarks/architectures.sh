#!/usr/bin/env bash
# Every architecture: SkinLesion (latency, throughput, full training) vs ONNX Runtime (latency,
# throughput) on the same network with the same random weights, 2 threads, one run, one machine.
# Usage: benchmarks/architectures.sh [ARCH ...]   (default: every `skinlesion models` entry but vgg19-notop)
# Environment: BATCH (32), RUNS (3), LATENCY_RUNS (20), SCRATCH (swift build --scratch-path, default .build),
#              BIN (an already built skinlesion instead of `swift build -c release`)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
THREADS=2
export OMP_NUM_THREADS=$THREADS
# `skinlesion bench`'s own defaults (and resnet50.sh's counts). Each bench runs the batch-N forward
# RUNS+1 times and three training modes RUNS+1 steps each; VGG19 dominates. Lower them for a quick look.
BATCH=${BATCH:-32}
RUNS=${RUNS:-3}
LATENCY_RUNS=${LATENCY_RUNS:-20}
SCRATCH=${SCRATCH:-.build}
PYTHON=.build/venv/bin/python
[[ -x $PYTHON ]] || { echo "missing $PYTHON (a venv with numpy, onnx, onnxruntime)" >&2; exit 1; }

results=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-architectures.XXXXXX")
echo "results in $results" >&2

if [[ -n ${BIN:-} ]]; then
    skinlesion=$results/skinlesion
    cp "$BIN" "$skinlesion"   # a rebuild during the run cannot swap the binary under it
else
    echo "building (swift build -c release) ..." >&2
    swift build -c release --scratch-path "$SCRATCH" >"$results/build.log" 2>&1 || { cat "$results/build.log" >&2; exit 1; }
    skinlesion=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/skinlesion
fi

# Names and input sizes from the tool itself, so a new architecture is picked up without edits here.
"$skinlesion" models --json >"$results/models.json"
sizes=$("$PYTHON" -c 'import json, sys; [print(m["name"], m["input_size"]) for m in json.load(open(sys.argv[1]))]' \
        "$results/models.json")
if (($# == 0)); then
    # vgg19-notop shares vgg19's convolutions, which are most of its cost; name it to include it.
    set -- $(awk '$1 != "vgg19-notop" {print $1}' <<<"$sizes")
fi

start=$SECONDS
for arch in "$@"; do
    size=$(awk -v a="$arch" '$1 == a {print $2}' <<<"$sizes")
    [[ -n $size ]] || { echo "unknown architecture $arch (see skinlesion models)" >&2; exit 1; }
    # One after the other, so neither competes with the other for the cores. A failure is
    # reported and leaves dashes in its row rather than losing the other architectures.
    echo "[$((SECONDS - start)) s] $arch: skinlesion bench ..." >&2
    "$skinlesion" bench --arch "$arch" --json --threads "$THREADS" --batch "$BATCH" --runs "$RUNS" \
        --latency-runs "$LATENCY_RUNS" --save-weights "$results/$arch.safetensors" \
        >"$results/$arch.skinlesion.json" || echo "$arch: skinlesion bench failed" >&2
    if [[ -f $results/$arch.safetensors ]]; then
        echo "[$((SECONDS - start)) s] $arch: onnxruntime ..." >&2
        "$PYTHON" benchmarks/architectures.py ort --arch "$arch" --weights "$results/$arch.safetensors" \
            --size "$size" --batch "$BATCH" --threads "$THREADS" --runs "$RUNS" --latency-runs "$LATENCY_RUNS" \
            >"$results/$arch.ort.json" || echo "$arch: onnxruntime failed" >&2
    fi
    rm -f "$results/$arch.safetensors"  # VGG19's is 560 MB
done
echo "[$((SECONDS - start)) s] done" >&2

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') (model $(lscpu | sed -n 's/^Model: *//p')); oneDNN ISA:" \
     "$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("isa", "?"))' "$results/$1.skinlesion.json" 2>/dev/null || echo '?');" \
     "load after: $(uptime | sed 's/.*load average: //')"
echo "$THREADS threads, FP32; batch-1 median of $LATENCY_RUNS, batch $BATCH median of $RUNS;" \
     "× ORT = SkinLesion's speed over ONNX Runtime's (above 1: SkinLesion faster)"
echo
"$PYTHON" benchmarks/architectures.py table --dir "$results" --batch "$BATCH" "$@"
echo "raw JSON: $results" >&2
