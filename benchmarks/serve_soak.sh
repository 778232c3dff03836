#!/usr/bin/env bash
# Soak test of `skinlesion serve` on loopback: CLIENTS concurrent clients for SECONDS seconds
# (default 64 × 600), 80 % real HAM10000 JPEGs and 20 % hostile requests (truncated JPEGs, a PNG
# bomb claiming 50000×50000, wrong Content-Types, malformed multipart, bodies over the limit,
# slow-loris headers at one byte a second), then SIGTERM with requests in flight. Prints one
# table (benchmarks/serve_soak.py) and exits non-zero if a criterion fails: a hostile request
# not answered 4xx with a message (429/503 allowed), a 5xx, RSS growing 64 MiB or more after
# warm-up, file descriptors not back to their idle count, the server dead, or an unclean drain.
# Usage: benchmarks/serve_soak.sh [CLIENTS] [SECONDS]   (extra serve_soak.py options in SOAK_ARGS;
# SOAK_MODEL=FILE serves that model instead of training the small one)
# SWIFT_BUILD_FLAGS (e.g. "-Xswiftc -enable-testing") reuses a build made for the tests instead of rebuilding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
clients=${1:-64}
duration=${2:-600}
data=../shared/data/ham10000-sample
weights=../shared/weights/efficientnet-lite0/efficientnet-lite0.safetensors
[ -e "$data" ] || { echo "no dataset at $data (see ../shared/data/README.md)" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-serve-soak.XXXXXX")
swift build -c release ${SWIFT_BUILD_FLAGS:-} >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
bin=.build/release/skinlesion

# A small genuine model: EfficientNet-Lite0 at 96×96 (ImageNet weights when ../shared has them),
# one head-only epoch on the sample.
model=${SOAK_MODEL:-$out/run/best.safetensors}
if [ -z "${SOAK_MODEL:-}" ]; then
    weight_args=()
    [ -e "$weights" ] && weight_args=(--weights "$weights")
    echo "training a small model (log: $out/train.log)" >&2
    "$bin" train --dataset "$data" --arch efficientnet-lite0 "${weight_args[@]}" --image-size 96 --epochs 1 \
        --batch-size 16 --freeze all --augment none --output "$out/run" >/dev/null 2>"$out/train.log"
fi

echo "soaking: $clients clients × $duration s (server log: $out/serve.log)" >&2
python3 benchmarks/serve_soak.py --binary "$bin" --model "$model" \
    --images "$data/HAM10000_images_part_1" --clients "$clients" --duration "$duration" \
    --log "$out/serve.log" --samples "$out/samples.csv" ${SOAK_ARGS:-}
