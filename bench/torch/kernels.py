#!/usr/bin/env python3
"""PyTorch (CPU) timings of the convolution and batch-norm micro-benchmarks of bench/kernels.ts:
the same shapes and names, from micro_spec.json (see bench/kernels.ts for the definitions).

PyTorch counterparts (NCHW, PyTorch's default layout):
  conv:*:fwd      F.conv2d(x, W, stride, padding)     (padding 1 for 3x3, as in PreActResNet18)
  conv:*:dgrad    aten.convolution_backward(..., output_mask=[True, False, False])
  conv:*:wgrad    aten.convolution_backward(..., output_mask=[False, True, False])
  bn:*:batchNorm  F.batch_norm(training=True): PyTorch's fused kernel
  bn:*:moments    the same maths from mean/var ops (the library's formulation before 2026-11-23)
      -fwdbwd     forward + torch.autograd.grad w.r.t. x, gamma, beta for a given dy
  fused:*:fused     relu(conv2d(x, W, bias)) (eager PyTorch has no fused conv+bias+ReLU kernel)
  fused:*:separate  relu(conv2d(x, W) + bias)
  step:b<B>:convs, step:b<B>:bn:<form>   the count-weighted train-step sums bench/kernels.ts
                  prints (its closedForm and lib batch norms have no PyTorch counterpart: F.batch_norm's
                  fused kernel is PyTorch's own fast path).

  /usr/bin/python3 bench/torch/kernels.py [--threads 2] [--batches 32,128] [--groups conv,bn,fused]
"""
import json
import os

from common import base_parser, start_torch, report, time_runs

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "micro_spec.json")


def conv_benchmarks(torch, spec, batch, warmup, reps, out):
    F = torch.nn.functional
    conv_bwd = torch.ops.aten.convolution_backward
    for c in spec["convs"]:
        pad = 1 if c["kernel"] == 3 else 0
        s = c["stride"]
        x = torch.randn(batch, c["in"], c["size"], c["size"])
        w = torch.randn(c["out"], c["in"], c["kernel"], c["kernel"])
        dy = torch.randn(batch, c["out"], c["size"] // s, c["size"] // s)
        key = f"conv:{c['name']}:b{batch}"

        def bwd(mask):
            return lambda: conv_bwd(dy, x, w, None, [s, s], [pad, pad], [1, 1], False, [0, 0], 1, mask)

        with torch.no_grad():
            out[f"{key}:fwd"] = time_runs(lambda: F.conv2d(x, w, None, s, pad), warmup, reps)
            out[f"{key}:dgrad"] = time_runs(bwd([True, False, False]), warmup, reps)
            out[f"{key}:wgrad"] = time_runs(bwd([False, True, False]), warmup, reps)


def bn_benchmarks(torch, spec, batch, warmup, reps, out):
    F = torch.nn.functional
    eps = spec["batchNormEps"]

    def fused_bn(x, gamma, beta):
        return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)

    def moments_bn(x, gamma, beta):
        mean = x.mean((0, 2, 3))
        var = (x - mean[None, :, None, None]).square().mean((0, 2, 3))
        scale = gamma * torch.rsqrt(var + eps)
        return x * scale[None, :, None, None] + (beta - mean * scale)[None, :, None, None]

    for b in spec["batchnorm"]:
        x = torch.randn(batch, b["channels"], b["size"], b["size"], requires_grad=True)
        gamma = (1 + 0.1 * torch.randn(b["channels"])).requires_grad_()
        beta = (0.1 * torch.randn(b["channels"])).requires_grad_()
        dy = torch.randn_like(x)
        for form, f in (("batchNorm", fused_bn), ("moments", moments_bn)):
            key = f"bn:{b['name']}:b{batch}:{form}"
            with torch.no_grad():
                out[f"{key}-fwd"] = time_runs(lambda: f(x, gamma, beta), warmup, reps)
            out[f"{key}-fwdbwd"] = time_runs(
                lambda: torch.autograd.grad(f(x, gamma, beta), (x, gamma, beta), dy), warmup, reps)


def fused_benchmarks(torch, spec, batch, warmup, reps, out):
    F = torch.nn.functional
    for c in spec["fused"]:
        x = torch.randn(batch, c["in"], c["size"], c["size"], requires_grad=True)
        w = torch.randn(c["out"], c["in"], 3, 3, requires_grad=True)
        bias = torch.randn(c["out"], requires_grad=True)
        dy = torch.randn(batch, c["out"], c["size"], c["size"])
        forms = (("fused", lambda: F.relu(F.conv2d(x, w, bias, 1, 1))),
                 ("separate", lambda: F.relu(F.conv2d(x, w, None, 1, 1) + bias[None, :, None, None])))
        for form, f in forms:
            key = f"fused:{c['name']}:b{batch}:{form}"
            with torch.no_grad():
                out[f"{key}-fwd"] = time_runs(f, warmup, reps)
            out[f"{key}-fwdbwd"] = time_runs(lambda: torch.autograd.grad(f(), (x, w, bias), dy), warmup, reps)


def step_totals(spec, batch, out):
    """Count-weighted conv time and batch-norm time per formulation of one train step (as bench/kernels.ts)."""
    m = lambda name: out[name]["median_ms"]  # noqa: E731
    keys = [f"conv:{c['name']}:b{batch}" for c in spec["convs"]]
    if all(f"{k}:fwd" in out for k in keys):
        total = sum(c["count"] * (m(f"{k}:fwd") + m(f"{k}:wgrad") + (m(f"{k}:dgrad") if c["needsInputGrad"] else 0))
                    for c, k in zip(spec["convs"], keys))
        out[f"step:b{batch}:convs"] = {"median_ms": total, "derived": "sum over layers of count x medians"}
    for form in ("batchNorm", "moments"):
        bns = [f"bn:{b['name']}:b{batch}:{form}-fwdbwd" for b in spec["batchnorm"]]
        if all(k in out for k in bns):
            out[f"step:b{batch}:bn:{form}"] = {"median_ms": sum(b["count"] * m(k) for b, k in zip(spec["batchnorm"], bns)),
                                              "derived": "sum over shapes of count x medians"}


def main():
    p = base_parser(__doc__.split("\n")[0])
    p.add_argument("--batches", default="32,128")
    p.add_argument("--groups", default="conv,bn,fused")
    p.set_defaults(warmup=1, reps=3)  # the same as bench/kernels.ts
    args = p.parse_args()
    torch, threads = start_torch(args)
    if torch is None:
        return
    with open(SPEC) as f:
        spec = json.load(f)
    groups = args.groups.split(",")
    figures = {}
    for batch in (int(b) for b in args.batches.split(",")):
        if "conv" in groups:
            conv_benchmarks(torch, spec, batch, args.warmup, args.reps, figures)
        if "bn" in groups:
            bn_benchmarks(torch, spec, batch, args.warmup, args.reps, figures)
        if "fused" in groups:
            fused_benchmarks(torch, spec, batch, args.warmup, args.reps, figures)
        step_totals(spec, batch, figures)
    report(torch, threads, figures, layout="NCHW", warmup=args.warmup, reps=args.reps)


if __name__ == "__main__":
    main()
