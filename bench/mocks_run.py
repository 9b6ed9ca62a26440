"""`python -m bench.mocks_run <components|raw> <apps> [default|tuned-gc]`: one timed run of
a program for fleet(apps) under mocks, in a process of its own so its peak RSS is the
program's. Prints JSON: seconds and cpuSeconds (of the timed run, all threads) and
peakRssKib (of the whole process).

`tuned-gc` is a diagnostic: the cyclic garbage collector's young generation is
collected every 10,000 allocations instead of 700 and import-time objects are frozen
out of its scans. Pulumi's SDK allocates heavily per registered resource, so with the
default settings a large share of the run is collector time, growing with the number
of live objects."""

from __future__ import annotations

import gc
import json
import resource
import sys
import time

from .fleet import fleet
from .programs import program, run_under_mocks

# A small fleet run first loads what the SDKs import lazily on first use, so the
# timed run measures registering the fleet, not importing modules.
WARM_UP_APPS = 4
TUNED_GC_THRESHOLDS = (10_000, 50, 100)


def main(argv: list[str]) -> None:
    kind, apps, *options = argv
    collector = options[0] if options else "default"
    if collector not in ("default", "tuned-gc"):
        raise SystemExit(f"unknown collector setting {collector!r} (default or tuned-gc)")
    run = program(kind)
    run_under_mocks(run, fleet(WARM_UP_APPS))
    config = fleet(int(apps))
    if collector == "tuned-gc":
        gc.freeze()
        gc.set_threshold(*TUNED_GC_THRESHOLDS)
    start, start_cpu = time.perf_counter(), time.process_time()
    run_under_mocks(run, config)
    measured = {
        "seconds": time.perf_counter() - start,
        "cpuSeconds": time.process_time() - start_cpu,
        # ru_maxrss is in KiB on Linux.
        "peakRssKib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(measured))


if __name__ == "__main__":
    main(sys.argv[1:])
