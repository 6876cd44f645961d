#!/usr/bin/env python3
"""The dashboard under hostile clients: /api/runs latency and the server's CPU and memory
during each attack of issue 22, from a running `mnistlab serve`.

    Benchmarks/serve_attacks.py PORT PID [SECONDS]

PORT is the server's port, PID its process id (for /proc/PID/stat and status). Each attack
runs for SECONDS (default 5) on threads of its own while the main thread asks GET /api/runs
one request after another on fresh connections; it prints the median, p90 and worst latency
of those requests in ms, the server's CPU seconds spent during the attack and in the 2 s
after, and its resident memory at the end. The bar: /api/runs under 100 ms during each
attack, and no CPU left burning after it. The tests (HostileClientTests) assert the refusal
codes and bounded CPU and memory; wall time is measured only here.
"""
import socket
import statistics
import sys
import threading
import time

PORT = int(sys.argv[1])
PID = int(sys.argv[2])
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
HOST = f"Host: 127.0.0.1:{PORT}\r\n"


def usage():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = 100.0
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    return s


def ask_runs():
    start = time.perf_counter()
    s = connect()
    s.sendall(f"GET /api/runs HTTP/1.1\r\n{HOST}Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    elapsed = (time.perf_counter() - start) * 1000
    return elapsed, data[:12]


def send_quietly(s, data):
    try:
        s.sendall(data)
    except OSError:
        pass


def drain(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()


def long_line(stop):
    while not stop.is_set():
        s = connect()
        send_quietly(s, b"GET /" + b"a" * 200_000)
        drain(s)


def many_headers(stop):
    while not stop.is_set():
        s = connect()
        send_quietly(s, (f"GET /api/runs HTTP/1.1\r\n{HOST}" + "".join(f"X-{i}: {'x' * 1000}\r\n" for i in range(64)) + "\r\n").encode())
        drain(s)


def huge_body(stop):
    while not stop.is_set():
        s = connect()
        send_quietly(s, f"POST /api/runs/1/predict HTTP/1.1\r\n{HOST}Content-Length: 1073741824\r\n\r\n".encode())
        send_quietly(s, b"GET /api/runs HTTP/1.1\r\n" + b"A" * (1 << 20))
        drain(s)


def plain_body(stop):
    while not stop.is_set():
        s = connect()
        send_quietly(s, f"POST /api/runs/1/predict HTTP/1.1\r\n{HOST}Content-Type: text/plain\r\nContent-Length: 3000000\r\n\r\n".encode() + b"B" * 3_000_000)
        drain(s)


def idle(stop, count=100):
    held = []
    while not stop.is_set():
        while len(held) < count and not stop.is_set():
            try:
                held.append(connect())
            except OSError:
                break
        time.sleep(0.2)
        # The server closes them after its header timeout: open them again.
        alive = []
        for s in held:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        held = alive
    for s in held:
        s.close()


def trickle(stop, count=50):
    held = [connect() for _ in range(count)]
    for s in held:
        send_quietly(s, b"GET /api/runs HTTP/1.1\r\n")
    i = 0
    while not stop.is_set():
        for s in held:
            send_quietly(s, f"X-{i}: y\r\n".encode())
        i += 1
        time.sleep(1)
    for s in held:
        s.close()


def streams(stop, count=60):
    held = []
    for _ in range(count):
        s = connect()
        send_quietly(s, f"GET /api/runs/1/events?status=1 HTTP/1.1\r\n{HOST}\r\n".encode())
        held.append(s)
    stop.wait()
    for s in held:
        s.close()


ATTACKS = [
    ("none", None),
    ("200 KB request lines, 2 threads", (long_line, 2)),
    ("64 x 1 KB headers, 2 threads", (many_headers, 2)),
    ("Content-Length 1 GiB, 2 threads", (huge_body, 2)),
    ("3 MB text/plain bodies, 2 threads", (plain_body, 2)),
    ("100 idle connections", (idle, 1)),
    ("50 trickled heads", (trickle, 1)),
    ("60 streams on a finished run", (streams, 1)),
]

print(f"{'attack':<36} {'median':>7} {'p90':>7} {'worst':>7} {'n':>5} {'CPU s':>6} {'after':>6} {'RSS MB':>7}")
for name, attack in ATTACKS:
    stop = threading.Event()
    threads = []
    if attack:
        fn, n = attack
        threads = [threading.Thread(target=fn, args=(stop,), daemon=True) for _ in range(n)]
        for t in threads:
            t.start()
        time.sleep(0.5)
    cpu0, _ = usage()
    times = []
    end = time.time() + SECONDS
    while time.time() < end:
        ms, head = ask_runs()
        if not head.startswith(b"HTTP/1.1 200"):
            print(f"  /api/runs answered {head!r}")
        times.append(ms)
    cpu1, _ = usage()
    stop.set()
    for t in threads:
        t.join(timeout=15)
    time.sleep(2)
    cpu2, rss = usage()
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"{name:<36} {statistics.median(times):7.1f} {p90:7.1f} {times[-1]:7.1f} {len(times):5d} {cpu1 - cpu0:6.2f} {cpu2 - cpu1:6.2f} {rss / 2**20:7.1f}")
