"""`python -m bench.mocks_run <components|raw> <apps> [program-gc|interpreter-gc]`: one
timed run of a program for fleet(apps) under mocks, in a process of its own so its
peak RSS is the program's. Prints JSON: seconds and cpuSeconds (of the timed run, all
threads) and peakRssKib (of the whole process, from /proc).

Both programs set the collector thresholds of `components.program.tune_collector`.
`interpreter-gc` is a diagnostic that keeps the interpreter's defaults instead, to
show what that setting is worth."""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from components import program as components_program

from .fleet import fleet
from .programs import program, run_under_mocks

# A small fleet run first loads what the SDKs import lazily on first use, so the
# timed run measures registering the fleet, not importing modules.
WARM_UP_APPS = 4
COLLECTOR_SETTINGS = ("program-gc", "interpreter-gc")


def peak_rss_kib() -> int:
    """This process's peak resident set size (Linux). Not getrusage's ru_maxrss: that
    keeps the high-water mark of the process that spawned this one, since exec
    inherits it, so a child of a large benchmark process would report the parent's."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])  # in kB
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS is measured on Linux only")


def main(argv: list[str]) -> None:
    kind, apps, *options = argv
    collector = options[0] if options else COLLECTOR_SETTINGS[0]
    if collector not in COLLECTOR_SETTINGS:
        raise SystemExit(f"unknown collector setting {collector!r} (one of {', '.join(COLLECTOR_SETTINGS)})")
    if collector == "interpreter-gc":
        # tune_collector() reads the thresholds when called: make it keep the defaults.
        components_program.COLLECTOR_THRESHOLDS = gc.get_threshold()
    run = program(kind)
    run_under_mocks(run, fleet(WARM_UP_APPS))
    config = fleet(int(apps))
    start, start_cpu = time.perf_counter(), time.process_time()
    run_under_mocks(run, config)
    measured = {
        "seconds": time.perf_counter() - start,
        "cpuSeconds": time.process_time() - start_cpu,
        "peakRssKib": peak_rss_kib(),
    }
    print(json.dumps(measured))


if __name__ == "__main__":
    main(sys.argv[1:])
