#!/usr/bin/env python3
"""PyTorch PreActResNet18 train steps (bench/torch/train_step.py's step, plain mode, batch
--batch, 32x32 inputs) with oneDNN's verbose log on: after --warmup steps without it, --steps
steps, each between a --begin and an --end line on stdout with the log's lines as oneDNN prints
them, then one JSON line with the steps' wall times. Read by bench/onednn-step.ts.

  /usr/bin/python3 bench/torch/onednn_step.py [--threads 2] [--batch 32] [--warmup 3] [--steps 3]
"""
import random
import statistics
import time

from common import base_parser, start_torch, report
from train_step import make_step


def main():
    p = base_parser(__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--begin", default="begin")
    p.add_argument("--end", default="end")
    p.set_defaults(warmup=3)
    args = p.parse_args()
    torch, threads = start_torch(args)
    if torch is None:
        return
    from reference import PreActResNet18
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    model = PreActResNet18(10).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    step, _iters, _opt = make_step(torch, model, optimizer, x, y, "plain", random.Random(args.seed), 0, None)
    for _ in range(args.warmup):
        step()
    walls = []
    for _ in range(args.steps):
        # Markers through print(flush=True) and oneDNN's lines through C's stdout, which it
        # flushes line by line: the two stay in order on the pipe.
        print(args.begin, flush=True)
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            t0 = time.perf_counter()
            step()
            walls.append((time.perf_counter() - t0) * 1e3)
        print(args.end, flush=True)
    report(torch, threads, {f"step:r18:b{args.batch}:plain:verbose": {
        "median_ms": statistics.median(walls), "min_ms": min(walls), "runs_ms": [round(w, 3) for w in walls]}})


if __name__ == "__main__":
    main()
