"""Start-up and round-trip timings of a Jupyter kernel, for kernel/README.md's table.

    JUPYTER_PATH=kernel /usr/bin/python3 notebooks/tools/kernel_timings.py [KERNEL_NAME] [--runs N]

Measures, per run (a fresh kernel each): kernel start -> first kernel_info reply; the round trip of
a trivial execute (`1`; median of 10); a cell that imports ./lib/backend; a cell that runs
`await initBackend()`. Cell times are execute_request -> idle, as a notebook user waits for them.
Prints the median over runs of each figure.
"""
import argparse
import statistics
import time

from jupyter_client.manager import KernelManager


def run_cell(kc, code, timeout=300):
    t = time.perf_counter()
    msg_id = kc.execute(code)
    status = None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            raise RuntimeError(f"{code!r} failed: {msg['content']['ename']}: {msg['content']['evalue']}")
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            status = time.perf_counter() - t
            break
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return status


def one_run(name):
    km = KernelManager(kernel_name=name)
    t = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        start = time.perf_counter() - t
        run_cell(kc, "1")  # first cell compiles the converter's program
        trivial = statistics.median(run_cell(kc, "1") for _ in range(10))
        imp = run_cell(kc, "import { initBackend } from './lib/backend';")
        init = run_cell(kc, "await initBackend();")
        return {"kernel_info": start, "trivial execute": trivial, "import ./lib/backend": imp, "initBackend()": init}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kernel", nargs="?", default="alignmix")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    runs = [one_run(args.kernel) for _ in range(args.runs)]
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"{args.kernel:12s} {key:24s} median {statistics.median(values):7.3f} s  (runs: {', '.join(f'{v:.3f}' for v in values)})")


if __name__ == "__main__":
    main()
