#!/usr/bin/env bash
# Load test of `skinlesion serve` with wrk at 1, 8 and 32 concurrent clients, each POSTing a real
# HAM10000 JPEG to /v1/predict, next to the engine's own batch throughput for the same model in the
# same run (`skinlesion bench --batch 16`, the server's --max-batch). Reports requests/s, p50 and p99
# latency, errors (non-2xx and socket errors) and the server's peak RSS; the aim is ≥ 90 % of the
# engine's batch throughput at 32 clients with 0 errors.
# Usage: benchmarks/serve_load.sh [ARCH] [SECONDS]   (default: resnet50 20; needs Debian's wrk)
# SWIFT_BUILD_FLAGS (e.g. "-Xswiftc -enable-testing") reuses a build made for the tests instead of rebuilding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch=${1:-resnet50}
duration=${2:-20}
data=../shared/data/ham10000-sample
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }
[ -e "$data" ] || { echo "no dataset at $data (see ../shared/data/README.md)" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/skinlesion-serve-load.XXXXXX")
swift build -c release ${SWIFT_BUILD_FLAGS:-} >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
bin=.build/release/skinlesion
image=$(find "$data/HAM10000_images_part_1" -name "*.jpg" | sort | sed -n 1p)

# A servable model of the architecture: one head-only epoch on the sample (the weights do not
# change the speed; this only makes a genuine model file).
"$bin" train --dataset "$data" --arch "$arch" --epochs 1 --batch-size 16 --freeze all --augment none \
    --output "$out/run" >/dev/null 2>"$out/train.log"
"$bin" bench --arch "$arch" --batch 16 --runs 3 --latency-runs 5 --json >"$out/engine.json" 2>/dev/null

"$bin" serve --model "$out/run/best.safetensors" --port 0 --max-batch 16 2>"$out/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "serving" "$out/serve.log" && break; sleep 0.2; done
url=$(grep -m1 -o 'http://[0-9.:]*' "$out/serve.log")
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.2; done

cat >"$out/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/jpeg"
local file = io.open("$image", "rb")
wrk.body = file:read("*all")
file:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %.3f %.3f\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
curl -s -X POST -H "Content-Type: image/jpeg" --data-binary @"$image" "$url/v1/predict" >/dev/null  # warm
for clients in 1 8 32; do
    wrk -t "$((clients < 2 ? 1 : 2))" -c "$clients" -d "${duration}s" --timeout 30s -s "$out/post.lua" "$url/v1/predict" \
        >"$out/wrk-$clients.txt"
done
rss=$(awk '/VmHWM/ {print $2}' /proc/$server/status)
curl -s "$url/metrics" >"$out/metrics.txt"
python3 - "$out" "$rss" <<'PY'
import json, sys
out, rss_kib = sys.argv[1], int(sys.argv[2])
engine = json.load(open(f"{out}/engine.json"))["batch32_images_per_s"]
print(f"engine batch-16 throughput ({json.load(open(f'{out}/engine.json'))['arch']}): {engine:.1f} img/s")
print("| clients | requests/s | × engine batch throughput | p50 latency (ms) | p99 latency (ms) | errors |")
print("| --- | --- | --- | --- | --- | --- |")
for clients in (1, 8, 32):
    line = next(l for l in open(f"{out}/wrk-{clients}.txt") if l.startswith("RESULT"))
    requests, status_errors, socket_errors, micros, p50, p99 = line.split()[1:]
    rate = int(requests) / (int(micros) / 1e6)
    print(f"| {clients} | {rate:.1f} | {rate / engine:.2f} | {float(p50):.0f} | {float(p99):.0f} | "
          f"{int(status_errors) + int(socket_errors)} |")
print(f"server peak RSS: {rss_kib / 1024:.0f} MiB")
PY
echo "raw output: $out" >&2
