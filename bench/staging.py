#!/usr/bin/env python3
"""Staging upload benchmark: batchflow's content-addressed upload engine against the Python
`azure-storage-blob` SDK, same data, same Azurite, same run.

Data (made once, in a temporary folder): 1,000 files of 100 KiB ("small") and one file of
1 GiB ("large"), random bytes. For each data set and each of --runs, a fresh Azurite
(`tools/azurite`, in memory, on 127.0.0.1) receives:

- **batchflow**: the `stage-upload` example (`bench/stage_upload.rs`): `upload_paths`, which
  hashes each file (SHA-256) as it reads it and sends it to `cas/<sha256>` unless it is there
  (what is there comes from one listing of `cas/`): small files 16 at a time, each read once;
  the large one hashed, then sent 8 blocks of 8 MiB in flight, each with its Content-MD5, and
  checked again as it is read. Default `UploadOptions`. Then the same upload again, which
  must send 0 bytes. Also timed, the other entry point: `hash_files` then `upload_files`
  ("hashed first", into another container; the hashing is in its time).
- **SDK**: `ContainerClient.upload_blob(name, file, overwrite=True, max_concurrency=N)` of
  `azure-storage-blob`, one file after another (the SDK has no multi-file upload; its
  `max_concurrency` parallelizes the blocks of one blob), timed around the loop.

Before the timed uploads both sides upload a warm-up folder (300 files of 4 KiB and one of
9 MiB) into containers of their own, so that neither pays for Azurite loading its handlers
and V8 compiling them (the side that went first was 5-10 % slower without it). The two then
go in alternating order; each side has a container of its own. Throughput is bytes
over wall time, medians of the runs. Targets (from the issue): at least 2x the SDK on the
small files, at least the SDK on the large one, and 0 bytes on the second upload.

    cargo build --release --example stage-upload
    python3 bench/staging.py                    # 3 runs, max_concurrency 8
    python3 bench/staging.py --runs 1 --large-mib 256 --python /path/to/venv/bin/python

Without --python the script makes target/bench-storage-venv and installs the SDK there
(once). The exit code is 1 when a target is missed, else 0.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = os.path.join(ROOT, "target", "release", "examples", "stage-upload")
VENV = os.path.join(ROOT, "target", "bench-storage-venv")
SDK_PACKAGE = "azure-storage-blob==12.31.1"
# Azurite 3.37.0 knows versions up to 2026-06-06; the SDK's default is newer.
SDK_API_VERSION = "2026-06-06"
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

SDK_SCRIPT = r"""
import json, os, sys, time
from azure.storage.blob import BlobServiceClient
cs, version, container, concurrency, root = sys.argv[1:6]
svc = BlobServiceClient.from_connection_string(cs, api_version=version)
client = svc.get_container_client(container)
client.create_container()
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
start = time.perf_counter()
for path in files:
    with open(path, "rb") as data:
        client.upload_blob(os.path.relpath(path, root), data, overwrite=True,
                           max_concurrency=int(concurrency))
elapsed = time.perf_counter() - start
print(json.dumps({"files": len(files), "bytes": sum(os.path.getsize(p) for p in files),
                  "total_s": elapsed}))
"""


def azurite_bin():
    subprocess.run(["sh", os.path.join(ROOT, "tools", "azurite", "install.sh")], check=True)
    return os.path.join(ROOT, "tools", "azurite", "node_modules", ".bin", "azurite-blob")


class Azurite:
    """azurite-blob in memory on a port the OS picks, read back from its output."""

    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
             "--silent", "--disableTelemetry"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tempfile.gettempdir())
        self.port = None
        for line in self.proc.stdout:
            if "successfully listens on" in line:
                self.port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
                break
        if self.port is None:
            sys.exit("Azurite did not start")

    def connection_string(self):
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sdk_python(given):
    if given:
        return given
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", SDK_PACKAGE], check=True)
    return python


def make_data(folder, small_files, small_kib, large_mib):
    small = os.path.join(folder, "small")
    large = os.path.join(folder, "large")
    os.makedirs(small)
    os.makedirs(large)
    for i in range(small_files):
        with open(os.path.join(small, f"s{i:05}.bin"), "wb") as f:
            f.write(os.urandom(small_kib * 1024))
    with open(os.path.join(large, "large.bin"), "wb") as f:
        for _ in range(large_mib // 64):
            f.write(os.urandom(64 << 20))
        f.write(os.urandom((large_mib % 64) << 20))
    warm = os.path.join(folder, "warm-up")
    os.makedirs(warm)
    for i in range(300):
        with open(os.path.join(warm, f"a{i:03}.bin"), "wb") as f:
            f.write(os.urandom(4096))
    with open(os.path.join(warm, "b.bin"), "wb") as f:
        f.write(os.urandom(9 << 20))
    return {"small": small, "large": large}, warm


def engine(cs, container, root, hashed_first=False):
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=cs)
    flag = ["--hashed-first"] if hashed_first else []
    out = subprocess.run([ENGINE, *flag, container, root], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sdk(python, cs, container, root, concurrency):
    out = subprocess.run([python, "-c", SDK_SCRIPT, cs, SDK_API_VERSION, container,
                          str(concurrency), root], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib_s(r):
    return r["bytes"] / (1 << 20) / r["total_s"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=8, help="the SDK's max_concurrency")
    p.add_argument("--small-files", type=int, default=1000)
    p.add_argument("--small-kib", type=int, default=100)
    p.add_argument("--large-mib", type=int, default=1024)
    p.add_argument("--python", help="a Python with azure-storage-blob installed")
    args = p.parse_args()
    if not os.access(ENGINE, os.X_OK):
        sys.exit("build the engine first: cargo build --release --example stage-upload")
    binary = azurite_bin()
    python = sdk_python(args.python)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        data, warm = make_data(tmp, args.small_files, args.small_kib, args.large_mib)
        print(f"{'data':<6} {'run':>3} {'batchflow MiB/s':>16} {'s':>6} {'hashed first':>13} "
              f"{'SDK MiB/s':>10} {'s':>6} {'ratio':>6} {'2nd run bytes':>14}")
        for name, root in data.items():
            ours, theirs, again, first = [], [], [], []
            for run in range(args.runs):
                az = Azurite(binary)
                try:
                    cs = az.connection_string()
                    engine(cs, "warm-bf", warm)
                    sdk(python, cs, "warm-sdk", warm, args.concurrency)
                    pair = [lambda: ours.append(engine(cs, f"bf-{run}", root)),
                            lambda: theirs.append(sdk(python, cs, f"sdk-{run}", root,
                                                      args.concurrency))]
                    for step in (pair if run % 2 == 0 else reversed(pair)):
                        step()
                    again.append(engine(cs, f"bf-{run}", root))
                    first.append(engine(cs, f"bf-hashed-{run}", root, hashed_first=True))
                finally:
                    az.stop()
                o, t, h = ours[-1], theirs[-1], first[-1]
                print(f"{name:<6} {run + 1:>3} {mib_s(o):>16.1f} {o['total_s']:>6.2f} "
                      f"{mib_s(h):>13.1f} {mib_s(t):>10.1f} {t['total_s']:>6.2f} "
                      f"{mib_s(o) / mib_s(t):>6.2f} {again[-1]['bytes_sent']:>14}")
            ratio = statistics.median(mib_s(o) for o in ours) / statistics.median(mib_s(t) for t in theirs)
            target = 2.0 if name == "small" else 1.0
            met = ratio >= target and all(a["bytes_sent"] == 0 for a in again)
            ok = ok and met
            print(f"{name}: median batchflow {statistics.median(mib_s(o) for o in ours):.1f} MiB/s "
                  f"(hashed first {statistics.median(mib_s(h) for h in first):.1f}), "
                  f"SDK {statistics.median(mib_s(t) for t in theirs):.1f} MiB/s, "
                  f"{ratio:.2f}x (target {target:g}x); second upload "
                  f"{max(a['bytes_sent'] for a in again)} bytes: {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
