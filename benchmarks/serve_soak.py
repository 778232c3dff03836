"""Soak test of `skinlesion serve`: real and hostile clients for a bounded time, on loopback only.

Starts the server itself (so it can watch /proc/PID and read its exit status), runs CLIENTS
concurrent clients for DURATION seconds (or MAX_REQUESTS requests, whichever comes first), then
sends SIGTERM while requests are in flight and checks the drain. Each client draws a request:
80 % real HAM10000 JPEGs (raw body or multipart), 20 % hostile (truncated JPEGs, a PNG bomb
claiming 50000×50000, wrong Content-Types, malformed multipart, bodies over the limit,
slow-loris connections trickling headers one byte a second). Prints one table and exits 1 if a
criterion fails. Python standard library only.
"""
import argparse
import asyncio
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

HOST = "127.0.0.1"
HOSTILE_KINDS = ["truncated", "png-bomb", "wrong-type", "bad-multipart", "over-limit", "slow-loris"]


def png_bomb(width=50000, height=50000):
    """A valid PNG signature and IHDR claiming width×height RGB, with a few KB of zlib zeros."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (4 << 20), 9)  # 4 MiB of zero scanlines in about 4 KiB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def multipart(boundary, name, data, content_type="image/jpeg"):
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()


def request_bytes(path, content_type, body, extra=""):
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    head += f"Content-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


class Soak:
    def __init__(self, args, images):
        self.args = args
        self.images = images
        self.bomb = png_bomb()
        self.results = []  # (kind, status or error string, seconds, has_message)
        self.port = None
        self.server = None
        self.stop_at = None
        self.requests = 0

    # --- one HTTP exchange over a fresh connection -------------------------------------------
    async def exchange(self, payload, timeout):
        """Sends payload while reading the answer; returns (status, body) or raises."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, self.port), timeout)
        try:
            async def send():
                try:
                    for start in range(0, len(payload), 1 << 16):
                        writer.write(payload[start:start + (1 << 16)])
                        await writer.drain()
                except (ConnectionResetError, BrokenPipeError):
                    pass  # the server answered early (e.g. 413) and closed; the answer is read below
            sender = asyncio.ensure_future(send())
            raw = await asyncio.wait_for(reader.read(), timeout)
            sender.cancel()
        finally:
            writer.close()
        return parse_response(raw)

    async def real(self, rng):
        name, data = rng.choice(self.images)
        if rng.random() < 0.5:
            payload = request_bytes("/v1/predict", "image/jpeg", data)
        else:
            boundary = f"soak{rng.getrandbits(48):x}"
            payload = request_bytes("/v1/predict", f"multipart/form-data; boundary={boundary}",
                                    multipart(boundary, name, data))
        return await self.timed("real", payload)

    async def hostile(self, rng, kind):
        name, data = rng.choice(self.images)
        if kind == "truncated":
            payload = request_bytes("/v1/predict", "image/jpeg", data[:int(len(data) * rng.uniform(0.05, 0.8))])
        elif kind == "png-bomb":
            payload = request_bytes("/v1/predict", "image/png", self.bomb)
        elif kind == "wrong-type":
            content_type = rng.choice(["text/plain", "application/json", "image/gif", None, "multipart/mixed; boundary=x"])
            payload = request_bytes("/v1/predict", content_type, data)
        elif kind == "bad-multipart":
            boundary = "soak-boundary"
            body = rng.choice([
                multipart("other-boundary", name, data),                       # boundary mismatch
                multipart(boundary, name, data)[:-len(f"\r\n--{boundary}--\r\n")],  # never closed
                f"--{boundary}\r\nContent-Disposition: form-data\r\n".encode() + data,  # headers never end
                b"garbage without any boundary at all\r\n",
            ])
            content_type = rng.choice([f"multipart/form-data; boundary={boundary}", "multipart/form-data"])
            payload = request_bytes("/v1/predict", content_type, body)
        elif kind == "over-limit":
            body = os.urandom(self.args.max_upload_bytes + 1 + rng.randrange(1 << 16))
            if rng.random() < 0.5:
                payload = request_bytes("/v1/predict", "image/jpeg", body)
            else:  # chunked: the length is only known while reading
                head = (f"POST /v1/predict HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\nContent-Type: image/jpeg\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n").encode()
                chunks = b"".join(b"%x\r\n" % len(body[i:i + 65536]) + body[i:i + 65536] + b"\r\n"
                                  for i in range(0, len(body), 65536))
                payload = head + chunks + b"0\r\n\r\n"
        else:
            return await self.slow_loris()
        return await self.timed(kind, payload)

    async def timed(self, kind, payload):
        start = time.monotonic()
        try:
            status, body = await self.exchange(payload, self.args.request_timeout)
            self.results.append((kind, status, time.monotonic() - start, b'"message"' in body))
        except (OSError, asyncio.TimeoutError, ValueError) as error:
            self.results.append((kind, f"error:{type(error).__name__}", time.monotonic() - start, False))

    async def slow_loris(self):
        """Trickles a request head one byte a second; passes if the server closes it (or answers 4xx)."""
        head = (f"POST /v1/predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: 100\r\nX-Padding: {'a' * 200}\r\n\r\n").encode()
        start = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError as error:
            self.results.append(("slow-loris", f"error:{type(error).__name__}", time.monotonic() - start, False))
            return
        outcome = "never-closed"
        give_up = start + max(30, 3 * self.args.header_timeout)
        try:
            for byte in head:
                if time.monotonic() > give_up:
                    break
                writer.write(bytes([byte]))
                try:
                    await writer.drain()
                    answer = await asyncio.wait_for(reader.read(4096), 1.0)
                except asyncio.TimeoutError:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    answer = b""
                outcome = "closed" if not answer else f"answered:{parse_response(answer + await reader.read())[0]}"
                break
        finally:
            writer.close()
        self.results.append(("slow-loris", outcome, time.monotonic() - start, True))

    async def client(self, index):
        rng = random.Random(self.args.seed * 1000 + index)
        while time.monotonic() < self.stop_at and self.requests < self.args.max_requests:
            self.requests += 1
            if rng.random() < self.args.hostile_share:
                await self.hostile(rng, rng.choice(HOSTILE_KINDS))
            else:
                await self.real(rng)

    # --- the server and /proc ------------------------------------------------------------------
    def start_server(self, log):
        command = [self.args.binary, "serve", "--model", self.args.model, "--host", HOST, "--port", "0",
                   "--max-upload-bytes", str(self.args.max_upload_bytes),
                   "--header-timeout", str(self.args.header_timeout), "--idle-timeout", str(self.args.idle_timeout)]
        self.server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.port is None:
            time.sleep(0.2)
            for line in open(log.name, errors="replace"):
                if line.startswith("serving ") and "http://" in line:
                    self.port = int(line.split("http://")[1].split("/")[0].rsplit(":", 1)[1])
            if self.server.poll() is not None:
                raise SystemExit(f"the server exited with {self.server.returncode}; see {log.name}")
        if self.port is None:
            raise SystemExit(f"the server did not start listening; see {log.name}")

    def sample(self):
        pid = self.server.pid
        rss = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS"))
        return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))

    async def get(self, path):
        reader, writer = await asyncio.open_connection(HOST, self.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        return parse_response(raw)

    async def run(self):
        for _ in range(600):
            try:
                if (await self.get("/readyz"))[0] == 200:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
        await self.timed("real", request_bytes("/v1/predict", "image/jpeg", self.images[0][1]))  # warm
        self.results.clear()
        idle_before = self.sample()
        samples = []  # (seconds since start, rss MiB, fds)
        start = time.monotonic()
        self.stop_at = start + self.args.duration

        async def sampler():
            while time.monotonic() < self.stop_at:
                samples.append((time.monotonic() - start, *self.sample()))
                await asyncio.sleep(1)
        tasks = [asyncio.ensure_future(self.client(i)) for i in range(self.args.clients)]
        watcher = asyncio.ensure_future(sampler())
        await asyncio.gather(*tasks)
        await watcher
        elapsed = time.monotonic() - start
        await asyncio.sleep(self.args.idle_timeout + 2)  # every connection closed or timed out
        idle_after = self.sample()
        alive = (await self.get("/healthz"))[0] == 200
        drain = await self.drain()
        return elapsed, samples, idle_before, idle_after, alive, drain

    async def drain(self):
        """SIGTERM with requests in flight: they must all be answered 200 and the exit status be 0.

        Eight TTA requests are written in full, and SIGTERM goes out once the server's queue
        holds images (so the requests are inside the server, not in the kernel's backlog)."""
        payload = request_bytes("/v1/predict?tta=8", "image/jpeg", self.images[0][1])
        connections = [await asyncio.open_connection(HOST, self.port) for _ in range(8)]
        for _, writer in connections:
            writer.write(payload)
            await writer.drain()
        for _ in range(200):
            metrics = (await self.get("/metrics"))[1].decode(errors="replace")
            queued = next((float(line.split()[1]) for line in metrics.splitlines()
                           if line.startswith("skinlesion_queue_images ")), 0)
            if queued > 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        self.server.send_signal(signal.SIGTERM)

        async def answer(reader, writer):
            try:
                return parse_response(await asyncio.wait_for(reader.read(), 120))[0]
            except (OSError, asyncio.TimeoutError, ValueError) as error:
                return type(error).__name__
            finally:
                writer.close()
        answers = await asyncio.gather(*(answer(r, w) for r, w in connections))
        try:
            code = await asyncio.get_running_loop().run_in_executor(None, lambda: self.server.wait(60))
        except subprocess.TimeoutExpired:
            self.server.kill()
            code = "hung"
        return code, Counter(answers)


def parse_response(raw):
    if not raw.startswith(b"HTTP/1."):
        raise ValueError(f"no HTTP answer ({len(raw)} bytes)")
    status = int(raw.split(b" ", 2)[1])
    return status, raw.partition(b"\r\n\r\n")[2]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", required=True, help="folder of HAM10000 JPEGs")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=500_000)
    parser.add_argument("--hostile-share", type=float, default=0.2)
    parser.add_argument("--max-upload-bytes", type=int, default=1 << 20)
    parser.add_argument("--header-timeout", type=float, default=10)
    parser.add_argument("--idle-timeout", type=float, default=30)
    parser.add_argument("--request-timeout", type=float, default=120, help="client-side limit per request")
    parser.add_argument("--warmup", type=float, default=None, help="seconds excluded from RSS/fd bounds (default: 10 %%, at least 10 s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True, help="file for the server's stderr")
    parser.add_argument("--samples", help="CSV file for the per-second RSS and fd samples")
    args = parser.parse_args()
    if not (1 <= args.clients <= 1024 and 0 < args.duration <= 3600):
        raise SystemExit("--clients must be in 1…1024 and --duration in (0, 3600] s")
    paths = sorted(Path(args.images).rglob("*.jpg"))
    if not paths:
        raise SystemExit(f"no JPEGs under {args.images}")
    images = [(p.name, p.read_bytes()) for p in paths]
    if max(len(d) for _, d in images) > args.max_upload_bytes:
        raise SystemExit("--max-upload-bytes is smaller than a real image")
    soak = Soak(args, images)
    with open(args.log, "w") as log:
        soak.start_server(log)
        try:
            elapsed, samples, idle_before, idle_after, alive, (code, drained) = asyncio.run(soak.run())
        finally:
            if soak.server.poll() is None:
                soak.server.kill()
    report(args, soak.results, elapsed, samples, idle_before, idle_after, alive, code, drained)


def report(args, results, elapsed, samples, idle_before, idle_after, alive, code, drained):
    if args.samples:
        with open(args.samples, "w") as out:
            out.write("seconds,rss_mib,fds\n" + "".join(f"{t:.1f},{r:.1f},{f}\n" for t, r, f in samples))
    warmup = args.warmup if args.warmup is not None else max(10, 0.1 * args.duration)
    steady = [s for s in samples if s[0] >= warmup] or samples
    rss = [s[1] for s in steady]
    fds = [s[2] for s in steady]
    by_kind = {}
    for kind, status, _, _ in results:
        by_kind.setdefault(kind, Counter())[status] += 1
    real = [r for r in results if r[0] == "real"]
    hostile = [r for r in results if r[0] != "real"]
    latencies = [r[2] * 1000 for r in real if r[1] == 200]
    failures = []
    for kind, status, _, message in hostile:
        if kind == "slow-loris":
            if not (status == "closed" or (status.startswith("answered:") and 400 <= int(status.split(":")[1]) < 500)):
                failures.append(f"slow-loris {status}")
        elif not (isinstance(status, int) and ((400 <= status < 500 and message) or status in (429, 503))):
            failures.append(f"{kind} {status}{'' if message else ' without a message'}")
    for _, status, _, _ in real:
        if status not in (200, 429, 503):
            failures.append(f"real {status}")
    checks = {
        "hostile answered 4xx with a message (429/503 allowed), never 5xx": not failures,
        "real requests served": len(latencies) > 0,
        "RSS after warm-up: max − min < 64 MiB": bool(rss) and max(rss) - min(rss) < 64,
        "fds flat: idle after ≤ idle before + 4": idle_after[1] <= idle_before[1] + 4,
        "fds bounded under load: max ≤ idle before + 2 × clients + 16": bool(fds) and max(fds) <= idle_before[1] + 2 * args.clients + 16,
        "server alive at the end": alive,
        "SIGTERM drain: exit 0, every in-flight request answered 200": code == 0 and set(drained) == {200},
    }
    status_counts = Counter(str(r[1]) for r in results)
    print(f"| clients | duration | requests | hostile share | status counts | real p50 / p99 (ms) | "
          f"RSS min / max (MiB) | fds min / max (idle before → after) | drain |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {args.clients} | {elapsed:.0f} s | {len(results)} | {len(hostile) / max(1, len(results)):.1%} | "
          f"{', '.join(f'{k}: {v}' for k, v in sorted(status_counts.items()))} | "
          f"{percentile(latencies, 50):.0f} / {percentile(latencies, 99):.0f} | "
          f"{min(rss):.0f} / {max(rss):.0f} | {min(fds)} / {max(fds)} ({idle_before[1]} → {idle_after[1]}) | "
          f"exit {code}, {', '.join(f'{k}: {v}' for k, v in sorted(drained.items(), key=str))} |")
    print()
    print("| request kind | count | answers |")
    print("| --- | --- | --- |")
    for kind in ["real"] + HOSTILE_KINDS:
        counts = by_kind.get(kind, Counter())
        print(f"| {kind} | {sum(counts.values())} | {', '.join(f'{k}: {v}' for k, v in sorted(counts.items(), key=str))} |")
    slow = [r[2] for r in results if r[0] == "slow-loris" and r[1] == "closed"]
    if slow:
        print(f"\nslow-loris connections closed by the server after {min(slow):.1f}–{max(slow):.1f} s "
              f"(--header-timeout {args.header_timeout:g})")
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    for failure, count in Counter(failures).most_common(10):
        print(f"      {count} × {failure}", file=sys.stderr)
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
