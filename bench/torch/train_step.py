#!/usr/bin/env python3
"""PyTorch (CPU) timing of one PreActResNet18 train step on 32x32 inputs, three ways:
  step:r18:b<B>:plain        cross-entropy on the clean batch
  step:r18:b<B>:input-mixup  x~ = lam x + (1 - lam) x[perm], loss lam CE(y) + (1 - lam) CE(y[perm])
  step:r18:b<B>:alignmix     A = features(x); A~ = A' R^T aligned by batched log-Sinkhorn at the
                             last feature map (512 x 4 x 4, authors' formulation, 100 iterations);
                             logits of lam A + (1 - lam) A~; the same mixed loss
each = forward, backward and an SGD step (lr 0.1, momentum 0.9, weight decay 1e-4, the authors'
settings), model in train mode (batch statistics), 10 classes, random N(0, 1) inputs, one lambda
~ Beta(2, 2) and one permutation per step. Figures: median total and the median forward
(including the mixing), backward and update parts; and update:r18, the optimiser step alone.

  /usr/bin/python3 bench/torch/train_step.py [--threads 2] [--batches 32,128] [--modes plain,input-mixup,alignmix]
"""
import random
import statistics
import time

from common import base_parser, start_torch, report, time_runs

MODES = ("plain", "input-mixup", "alignmix")


def make_step(torch, model, optimizer, x, y, mode, rng, sinkhorn_iters, thresh):
    F = torch.nn.functional
    from reference import align_mix_authors
    sinkhorn_iters_run = []

    def step():
        lam = rng.betavariate(2.0, 2.0)
        perm = torch.randperm(x.shape[0])
        t0 = time.perf_counter()
        if mode == "plain":
            loss = F.cross_entropy(model(x), y)
        else:
            if mode == "input-mixup":
                logits = model(lam * x + (1 - lam) * x[perm])
            else:
                mixed, iters = align_mix_authors(model.features(x), perm, lam, sinkhorn_iters, thresh)
                sinkhorn_iters_run.append(iters)
                logits = model.classify(mixed)
            loss = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        return (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3

    return step, sinkhorn_iters_run, optimizer


def main():
    p = base_parser(__doc__.split("\n")[0])
    p.add_argument("--batches", default="32,128")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--sinkhorn-iters", type=int, default=100)
    p.add_argument("--sinkhorn-thresh", type=float, default=None,
                   help="the authors' early stop (0.1); default: always run --sinkhorn-iters")
    args = p.parse_args()
    torch, threads = start_torch(args)
    if torch is None:
        return
    from reference import PreActResNet18
    rng = random.Random(args.seed)
    figures = {}
    params = None
    for batch in (int(b) for b in args.batches.split(",")):
        x = torch.randn(batch, 3, 32, 32)
        y = torch.randint(0, args.classes, (batch,))
        steps = {}
        for mode in args.modes.split(","):
            if mode not in MODES:
                raise SystemExit(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
            model = PreActResNet18(args.classes).train()
            params = sum(t.numel() for t in model.parameters())
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
            steps[mode] = make_step(torch, model, optimizer, x, y, mode, rng, args.sinkhorn_iters, args.sinkhorn_thresh)
        # Rounds (each rep runs every mode once, in turn), as bench/timing.ts does on our side.
        for _ in range(args.warmup):
            for step, _iters, _opt in steps.values():
                step()
        totals = {mode: [] for mode in steps}
        parts = {mode: [] for mode in steps}
        for _ in range(args.reps):
            for mode, (step, _iters, _opt) in steps.items():
                t0 = time.perf_counter()
                parts[mode].append(step())
                totals[mode].append((time.perf_counter() - t0) * 1e3)
        for mode, (_step, iters, _opt) in steps.items():
            fig = {"median_ms": statistics.median(totals[mode]), "min_ms": min(totals[mode]),
                   "runs_ms": [round(t, 1) for t in totals[mode]]}
            for k, name in enumerate(("forward_ms", "backward_ms", "update_ms")):
                fig[name] = statistics.median(part[k] for part in parts[mode])
            if mode == "alignmix":
                fig["sinkhorn_iterations"] = sorted(set(iters))
            figures[f"step:r18:b{batch}:{mode}"] = fig
        if "update:r18" not in figures:
            # The optimiser step alone, on the gradients the last timed step left in .grad.
            first_optimizer = steps[next(iter(steps))][2]
            figures["update:r18"] = time_runs(first_optimizer.step, args.warmup, args.reps)
    report(torch, threads, figures, parameters=params, layout="NCHW", warmup=args.warmup, reps=args.reps)


if __name__ == "__main__":
    main()
