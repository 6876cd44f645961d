#!/usr/bin/env python3
"""Median wall and CPU (user + system) milliseconds of REPEAT runs of a command, printed as
"wall/cpu", each run a fresh process: on a shared machine the CPU time is the steadier figure
(it leaves out a server's CPU, which runs in another process).

    Benchmarks/median_ms.py REPEAT command [arguments…]
"""
import resource
import statistics
import subprocess
import sys
import time

repeat, command = int(sys.argv[1]), sys.argv[2:]
walls, cpus = [], []
for _ in range(repeat):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    walls.append((time.perf_counter() - start) * 1000)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
print(f"{statistics.median(walls):.1f}/{statistics.median(cpus):.1f}")
