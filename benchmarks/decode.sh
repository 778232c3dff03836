#!/usr/bin/env bash
# SkinLesion vs Pillow on the input pipeline (decode + resize + centre crop + normalize), in one run
# on one machine, on the real HAM10000 sample JPEGs.
# Usage: benchmarks/decode.sh [DIR]   (default ../shared/data/ham10000-sample; needs swift and .build/venv with pillow)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA=${1:-../shared/data/ham10000-sample}
PYTHON=.build/venv/bin/python
[[ -d $DATA ]] || { echo "no images at $DATA" >&2; exit 1; }
[[ -x $PYTHON ]] || { echo "missing $PYTHON (a venv with numpy and pillow: pip install -r tools/requirements.txt)" >&2; exit 1; }

results=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-decode.XXXXXX")
echo "results in $results" >&2

echo "building (swift build -c release) ..." >&2
swift build -c release >"$results/build.log" 2>&1 || { cat "$results/build.log" >&2; exit 1; }

# One after the other, so neither competes with the other for the cores.
echo "running skinlesion bench-decode ..." >&2
.build/release/skinlesion bench-decode "$DATA" --threads 1,2 --json >"$results/skinlesion.json"
echo "running Pillow ..." >&2
"$PYTHON" benchmarks/decode_pillow.py "$DATA" --processes 1,2 >"$results/pillow.json"

"$PYTHON" - "$results/skinlesion.json" "$results/pillow.json" <<'PY'
import json, sys
ours, pillow = (json.load(open(path)) for path in sys.argv[1:3])
plain = {r["processes"]: r["images_per_s"] for r in pillow["plain"]}
draft = {r["processes"]: r["images_per_s"] for r in pillow["draft"]}
print(f"{ours['files']} JPEGs, decode + resize {ours['size']} + centre crop + normalize, images per second "
      f"(Pillow {pillow['pillow']})\n")
print("| threads / processes | SkinLesion | Pillow | Pillow + draft() | × Pillow | × Pillow + draft() |")
print("| --- | --- | --- | --- | --- | --- |")
for run in ours["runs"]:
    n, speed = run["threads"], run["images_per_s"]
    if n in plain and n in draft:
        print(f"| {n} | {speed:.0f} | {plain[n]:.0f} | {draft[n]:.0f} | {speed / plain[n]:.2f} | {speed / draft[n]:.2f} |")
PY
echo "raw JSON: $results/skinlesion.json $results/pillow.json" >&2
