#!/usr/bin/env python3
"""Diagnostics latency of `batchflow lsp`: from sending an edit to receiving its diagnostics.

Starts the release binary's language server, opens a generated workflow of N lines, then
types: each measured edit changes one value (a whole-document change, as the simplest
editors send), and the time runs until the server publishes the diagnostics of that version.
Every other edit introduces an error and the next removes it, so both paths are timed.

    python3 bench/lsp.py                          # 500 and 5,000 lines, 30 edits each
    python3 bench/lsp.py --lines 500,5000,40000 --edits 50
    python3 bench/lsp.py --binary target/debug/batchflow

Target (issue 13): diagnostics within 50 ms of an edit for a 500-line file.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import require_binary

DEFAULT_BINARY = os.path.join("target", "release", "batchflow")
TARGET_500_MS = 50.0

# One group of a pool and a job with two tasks, 18 lines.
GROUP = """
pool p{i} {{
  vm_size    = "Standard_D4s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = {nodes}
}}

job j{i} on p{i} {{
  task prepare {{
    command = "/bin/sh -c 'echo prepare {i}'"
  }}
  task fit[s in 0..seeds] after prepare {{
    command = "/bin/sh -c 'echo fit ${{s}} {i}'"
    timeout = 1h
  }}
}}
"""


def workflow(lines, nodes=1):
    """A workflow of about `lines` lines; `nodes` is the first pool's node count."""
    head = 'workflow "latency"\n\nparam seeds: int = 4\n'
    groups = max((lines - 3) // GROUP.count("\n"), 1)
    body = [GROUP.format(i=i, nodes=nodes if i == 0 else 1) for i in range(groups)]
    return head + "".join(body)


class Server:
    def __init__(self, binary, root):
        env = dict(os.environ, BATCHFLOW_TODAY="2026-11-23")
        self.proc = subprocess.Popen([binary, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=root, env=env)
        self.next_id = 1

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def recv(self):
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def request(self, method, params):
        i = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            msg = self.recv()
            if msg.get("id") == i:
                return msg

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self, uri, version):
        while True:
            msg = self.recv()
            p = msg.get("params") or {}
            if msg.get("method") == "textDocument/publishDiagnostics" and p.get("uri") == uri \
                    and p.get("version") == version:
                return p["diagnostics"]

    def stop(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=30)


def measure(binary, lines, edits):
    with tempfile.TemporaryDirectory(prefix="batchflow-lsp-bench-") as root:
        os.mkdir(os.path.join(root, ".git"))
        os.mkdir(os.path.join(root, "pipelines"))
        path = os.path.join(root, "pipelines", "latency.batchflow")
        text = workflow(lines)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        uri = "file://" + path
        server = Server(binary, root)
        server.request("initialize", {"capabilities": {}, "processId": None})
        server.notify("initialized", {})
        server.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "batchflow", "version": 1, "text": text}})
        first = server.diagnostics(uri, 1)
        if first:
            raise SystemExit(f"the generated workflow has problems: {first[:2]}")
        times = []
        for v in range(2, edits + 2):
            # Odd versions: a pool with no nodes (BF122); even ones: fixed again.
            edited = workflow(lines, nodes=0 if v % 2 else 1)
            start = time.perf_counter()
            server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                                     "contentChanges": [{"text": edited}]})
            diags = server.diagnostics(uri, v)
            times.append((time.perf_counter() - start) * 1000)
            want = 1 if v % 2 else 0
            if len(diags) != want:
                raise SystemExit(f"version {v}: {len(diags)} diagnostics, {want} expected")
        server.stop()
        return text.count("\n"), len(text), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=DEFAULT_BINARY)
    ap.add_argument("--lines", default="500,5000", help="comma-separated file sizes in lines (default %(default)s)")
    ap.add_argument("--edits", type=int, default=30, help="edits timed per size (default %(default)s)")
    args = ap.parse_args()
    binary = require_binary(args.binary)
    print(f"binary: {binary}, cpus: {os.cpu_count()}, edits per size: {args.edits}")
    print(f"{'lines':>8} | {'bytes':>10} | {'median ms':>9} | {'p90 ms':>7} | {'max ms':>7}")
    print("-" * 54)
    verdict = True
    for n in [int(x) for x in args.lines.split(",")]:
        lines, size, times = measure(binary, n, args.edits)
        times.sort()
        median = statistics.median(times)
        p90 = times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1]
        print(f"{lines:>8} | {size:>10,} | {median:>9.1f} | {p90:>7.1f} | {times[-1]:>7.1f}", flush=True)
        if n == 500:
            ok = median <= TARGET_500_MS
            verdict = verdict and ok
            print(f"          500 lines: median {median:.1f} ms (target <= {TARGET_500_MS:.0f} ms): "
                  f"{'MET' if ok else 'MISSED'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
