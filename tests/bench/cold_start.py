#!/usr/bin/env python3
"""Cold start of the release binary: time from exec to the first `/readyz` 200 on an
empty SQLite database, and the idle RSS one second later. Beside it, the floor: the
time to exec the same binary for `--version` (process start, no runtime, no database).

Usage: cargo build --release -p tongban && tests/bench/cold_start.py [runs]
Prints figures; asserts nothing about them.
"""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "release", "tongban")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/readyz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_run():
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_") and k != "DATABASE_URL"}
        env.update(TONGBAN_LISTEN=f"127.0.0.1:{port}", TONGBAN_DATABASE_URL=f"sqlite://{tmp}/t.db",
                   TONGBAN_LOG_LEVEL="warn")
        start = time.perf_counter()
        proc = subprocess.Popen([BINARY, "serve"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not ready(port):
            if proc.poll() is not None:
                sys.exit("tongban exited before it was ready")
            if time.perf_counter() - start > 30:
                proc.kill()
                sys.exit("not ready after 30 s")
            time.sleep(0.002)
        elapsed_ms = (time.perf_counter() - start) * 1000
        time.sleep(1)
        rss = rss_mib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        return elapsed_ms, rss


def exec_floor_ms():
    start = time.perf_counter()
    subprocess.run([BINARY, "--version"], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"{BINARY} missing: cargo build --release -p tongban")
    floor = [exec_floor_ms() for _ in range(runs)]
    results = [one_run() for _ in range(runs)]
    starts = [r[0] for r in results]
    rss = [r[1] for r in results]
    print(f"runs: {runs} (release binary, empty SQLite, {os.cpu_count()} cores)")
    print(f"exec floor (tongban --version): median {statistics.median(floor):.1f} ms")
    print(f"cold start to /readyz 200:      median {statistics.median(starts):.1f} ms, "
          f"min {min(starts):.1f}, max {max(starts):.1f}")
    print(f"idle RSS 1 s after ready:       median {statistics.median(rss):.1f} MiB, max {max(rss):.1f}")


if __name__ == "__main__":
    main()
