#!/usr/bin/env bash
# What `train --frozen-precision int8|bf16` buys (issue #11, "frozen means fast"): the same short ResNet-50
# transfer run with --frozen-precision fp32, int8 and (on a CPU with AVX512_BF16) bf16, for --freeze layer4
# and --freeze all, with augmentation, one after the other in one run on one machine. Prints the training
# images/s of the last epoch (validation excluded; the data loader included, as a user sees it) and each
# precision / fp32, with the CPU, oneDNN's version and the ISA it reports. Speed figures mean something
# only on a quiet machine (`uptime`). bf16 is left out where it would only be emulated (no avx512_bf16 in
# /proc/cpuinfo): emulation checks numbers, not speed.
# Usage: benchmarks/frozen_precision.sh [OUTPUT_DIR]
#   env: DATASET (../shared/data/ham10000-sample), IMAGE_SIZE (224), EPOCHS (2), BATCH (32), THREADS (2),
#        LOADER_THREADS (1), WEIGHTS (a ResNet-50 weight file; default none: seeded random initialization,
#        which runs at the same speed), BIN (an already built skinlesion instead of `swift build -c release`),
#        PRECISIONS (default "fp32 int8", plus bf16 where the CPU has AVX512_BF16)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATASET=${DATASET:-../shared/data/ham10000-sample}
IMAGE_SIZE=${IMAGE_SIZE:-224}
EPOCHS=${EPOCHS:-2}
BATCH=${BATCH:-32}
THREADS=${THREADS:-2}
LOADER_THREADS=${LOADER_THREADS:-1}
export OMP_NUM_THREADS=$THREADS
[[ -e $DATASET ]] || { echo "missing $DATASET (see ../shared/data/README.md)" >&2; exit 1; }
out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-frozen.XXXXXX")}
mkdir -p "$out"
echo "runs and logs in $out" >&2
echo "load before: $(uptime)" >&2
if [[ -z ${BIN:-} ]]; then
    swift build -c release >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
    BIN=.build/release/skinlesion
fi
bin="$out/skinlesion"
cp "$BIN" "$bin"   # a rebuild during the run cannot swap the binary under it
if [[ -z ${PRECISIONS:-} ]]; then
    PRECISIONS="fp32 int8"
    grep -qw avx512_bf16 /proc/cpuinfo && PRECISIONS+=" bf16"
fi
[[ " $PRECISIONS " == *" fp32 "* ]] || { echo "PRECISIONS must include fp32, the baseline" >&2; exit 1; }
weights=()
[[ -n ${WEIGHTS:-} ]] && weights=(--weights "$WEIGHTS")

for freeze in layer4 all; do
    for precision in $PRECISIONS; do
        name=$freeze-$precision
        echo "training $name" >&2
        "$bin" train --dataset "$DATASET" --arch resnet50 "${weights[@]}" --image-size "$IMAGE_SIZE" \
            --epochs "$EPOCHS" --batch-size "$BATCH" --freeze "$freeze" --augment dermoscopy \
            --patience "$EPOCHS" --threads "$THREADS" --loader-threads "$LOADER_THREADS" --seed 1 \
            --frozen-precision "$precision" --output "$out/$name" 2>"$out/$name.log" >/dev/null \
            || { tail -5 "$out/$name.log" >&2; exit 1; }
    done
done
echo "load after: $(uptime)" >&2

python3 - "$out" "$IMAGE_SIZE" "$BATCH" "$THREADS" "$PRECISIONS" <<'PY'
import json, os, subprocess, sys
out, size, batch, threads, precisions = sys.argv[1:]
low = [p for p in precisions.split() if p != "fp32"]
def speed(name):
    return json.load(open(os.path.join(out, name, "log.json")))[-1]["trainImagesPerSecond"]
versions = open(os.path.join(out, "layer4-fp32", "versions.txt")).read().split("\n")
cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "unknown CPU")
print(f"CPU: {model}; {versions[1]}; oneDNN ISA {versions[2].removeprefix('isa ')}; ResNet-50 {size}², batch {batch}, {threads} threads, "
      "augmentation on, last epoch's training images/s")
print("| --freeze | fp32 frozen (img/s) | " + " | ".join(f"{p} frozen (img/s) | {p} / fp32" for p in low) + " |")
print("| --- | --- |" + " --- | --- |" * len(low))
for freeze in ["layer4", "all"]:
    fp32 = speed(f"{freeze}-fp32")
    cells = [f"{speed(f'{freeze}-{p}'):.2f} | {speed(f'{freeze}-{p}') / fp32:.2f}×" for p in low]
    print(f"| {freeze} | {fp32:.2f} | " + " | ".join(cells) + " |")
PY
