"""Shared plumbing of the PyTorch reference benchmarks (bench/torch/*.py).

Every script prints ONE JSON object on stdout:
  {"tool": "pytorch", "available": true, "torch": "1.13.0", "threads": 2, "figures": {NAME: FIGURE}}
  FIGURE = {"median_ms": m, "min_ms": fastest, "runs_ms": [...], ...extra fields}
Names match the TypeScript side (bench/kernels.ts and the later `npm run bench`), so a runner can
print ratios name by name. When torch cannot be imported the script still exits 0 and prints
  {"tool": "pytorch", "available": false, "reason": "..."}
so a combined runner reports the missing reference instead of failing.

Threads: Debian's python3-torch starts with torch.get_num_threads() == 1 whatever the machine
has, so the thread count is always set explicitly: --threads, else ALIGNMIX_THREADS, else all
cores (the same default as lib/backend.ts). Interop threads are set to 1 (lib/backend.ts's
TF_NUM_INTEROP_THREADS default).
"""
import argparse
import json
import os
import statistics
import sys
import time


def import_torch():
    """torch, or None after printing the 'not available' report."""
    try:
        import torch  # noqa: F401  (imported for the caller)
        return torch
    except Exception as e:  # ImportError, or a broken install raising anything else
        print(json.dumps({"tool": "pytorch", "available": False,
                          "reason": f"cannot import torch ({type(e).__name__}: {e}); "
                                    "on Debian: apt-get install python3-torch, run with /usr/bin/python3"}))
        return None


def base_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=None,
                   help="intra-op threads (default: ALIGNMIX_THREADS, else all cores)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before timing")
    p.add_argument("--reps", type=int, default=5, help="timed runs; the median is reported")
    p.add_argument("--seed", type=int, default=0)
    return p


def configure_threads(torch, requested):
    threads = requested or int(os.environ.get("ALIGNMIX_THREADS") or 0) or os.cpu_count() or 1
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work; harmless if it was
        pass
    return torch.get_num_threads()


def start_torch(args):
    """(torch, threads) with threads configured and the seed set, or (None, 0) after printing the
    'not available' report."""
    torch = import_torch()
    if torch is None:
        return None, 0
    threads = configure_threads(torch, args.threads)
    torch.manual_seed(args.seed)
    return torch, threads


def time_runs(fn, warmup, reps):
    """Median and minimum wall time in ms of `reps` calls of fn after `warmup` calls (CPU ops are synchronous)."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(runs), "min_ms": min(runs), "runs_ms": [round(r, 3) for r in runs]}


def report(torch, threads, figures, **extra):
    out = {"tool": "pytorch", "available": True, "torch": torch.__version__, "threads": threads,
           "python": sys.version.split()[0], **extra, "figures": figures}
    print(json.dumps(out))
