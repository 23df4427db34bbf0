#!/usr/bin/env python3
"""Gateway at size, measured on loopback (run by bench/gateway-scale.sh after a release build):

1. 1 GiB upload and 1 GiB download streamed through `cfl serve` — peak RSS of the gateway before
   and after (constant memory means the peak barely moves).
2. 1,000 concurrent idle connections held open while a normal request still succeeds.
3. Peak RSS with 10,000 tokens loaded (created through the admin API, then a restart loads them).

Upstream: a small Python server that counts uploaded bytes and streams a generated body back.
Standard library only. Prints a Markdown table for BENCHMARKS.md.
"""
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIB = 1 << 30
CHUNK = 1 << 20
CFL = sys.argv[1] if len(sys.argv) > 1 else "target/release/cfl"
ADMIN = "bench-admin-token-0123456789"


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, body: bytes):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/download/"):
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("content-length", str(GIB))
            self.end_headers()
            block = b"x" * CHUNK
            for _ in range(GIB // CHUNK):
                self.wfile.write(block)
            return
        self._reply(b'{"type":"known","username":"svc-reports"}')

    def do_POST(self):
        n = 0
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                remaining = size
                while remaining:
                    got = len(self.rfile.read(min(remaining, CHUNK)))
                    remaining -= got
                    n += got
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("content-length", "0"))
            while remaining:
                got = len(self.rfile.read(min(remaining, CHUNK)))
                remaining -= got
                n += got
        self._reply(json.dumps({"received": n}).encode())


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def start_gateway(workdir, upstream_port):
    cfg = os.path.join(workdir, "gateway.toml")
    with open(cfg, "w") as f:
        f.write(f'listen = "127.0.0.1:0"\nstore = "sqlite:{workdir}/gw.sqlite"\n'
                f'[upstream]\nurl = "http://127.0.0.1:{upstream_port}"\ntimeout_seconds = 600\n'
                '[upstream.identity]\nmode = "static"\npat = "bench-not-a-secret"\n')
    env = dict(os.environ, CFL_ADMIN_TOKEN=ADMIN, CFL_LOG="warn")
    proc = subprocess.Popen([CFL, "serve", "--config", cfg], stdout=subprocess.PIPE, env=env)
    line = json.loads(proc.stdout.readline())
    host, port = line["base_url"].removeprefix("http://").split(":")
    return proc, host, int(port)


def request(host, port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection(host, port, timeout=600)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def create_token(host, port, label):
    status, data = request(host, port, "POST", "/admin/v1/tokens",
                           {"authorization": f"Bearer {ADMIN}", "content-type": "application/json"},
                           json.dumps({"label": label, "user": "svc-reports"}))
    assert status == 201, data
    return json.loads(data)["secret"]


def main():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    up_port = upstream.server_address[1]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        gw, host, port = start_gateway(work, up_port)
        try:
            secret = create_token(host, port, "bench")
            auth = "Basic " + base64.b64encode(f"svc-reports:{secret}".encode()).decode()
            request(host, port, "GET", "/rest/api/user/current", {"authorization": auth})
            base_peak = rss_kib(gw.pid, "VmHWM")

            # 1 GiB up, streamed (chunked) from a generator.
            def gen():
                block = b"y" * CHUNK
                for _ in range(GIB // CHUNK):
                    yield block
            t0 = time.monotonic()
            status, data = request(host, port, "POST", "/rest/api/content/1/child/attachment",
                                   {"authorization": auth, "x-atlassian-token": "no-check",
                                    "content-type": "application/octet-stream"},
                                   gen())
            up_s = time.monotonic() - t0
            assert status == 200 and json.loads(data)["received"] == GIB, (status, data[:200])
            # 1 GiB down.
            t0 = time.monotonic()
            c = http.client.HTTPConnection(host, port, timeout=600)
            c.request("GET", "/download/attachments/1/big.bin", headers={"authorization": auth})
            r = c.getresponse()
            got = 0
            while True:
                b = r.read(CHUNK)
                if not b:
                    break
                got += len(b)
            c.close()
            down_s = time.monotonic() - t0
            assert r.status == 200 and got == GIB, (r.status, got)
            peak = rss_kib(gw.pid, "VmHWM")
            rows.append(("1 GiB upload + 1 GiB download through the gateway",
                         f"peak RSS {base_peak/1024:.1f} MiB before, {peak/1024:.1f} MiB after "
                         f"(up {GIB/up_s/2**20:.0f} MiB/s, down {GIB/down_s/2**20:.0f} MiB/s)"))

            # 1,000 idle connections, then a normal request.
            socks = []
            for _ in range(1000):
                s = socket.create_connection((host, port))
                socks.append(s)
            time.sleep(2)
            t0 = time.monotonic()
            status, _ = request(host, port, "GET", "/rest/api/user/current", {"authorization": auth})
            ms = (time.monotonic() - t0) * 1000
            alive = 0
            for s in socks:
                s.setblocking(False)
                try:
                    alive += 1 if s.recv(1) != b"" else 0
                except BlockingIOError:
                    alive += 1  # still open, nothing sent: idle as intended
                s.close()
            assert status == 200
            rows.append(("1,000 idle connections held", f"{alive} still open after 2 s; a request meanwhile: {status} in {ms:.1f} ms; "
                                                         f"RSS {rss_kib(gw.pid, 'VmRSS')/1024:.1f} MiB"))

            # 10,000 tokens.
            t0 = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda i: create_token(host, port, f"t{i}"), range(10_000)))
            create_s = time.monotonic() - t0
        finally:
            gw.terminate()
            gw.wait()
        gw, host, port = start_gateway(work, up_port)
        try:
            request(host, port, "GET", "/healthz")
            rows.append(("10,000 tokens in memory (after a restart loads them)",
                         f"peak RSS {rss_kib(gw.pid, 'VmHWM')/1024:.1f} MiB; creating them took {create_s:.1f} s "
                         f"({10_000/create_s:.0f} tokens/s through the admin API)"))
        finally:
            gw.terminate()
            gw.wait()
    upstream.shutdown()
    print("| scenario | result |\n|---|---|")
    for name, result in rows:
        print(f"| {name} | {result} |")


if __name__ == "__main__":
    main()
