#!/usr/bin/env python3
"""PyTorch (CPU) timing of batched Sinkhorn on AlignMix-sized problems: B cost matrices of
n x n (default 128 x 16 x 16, the 4 x 4 feature map of a batch of 128), eps = 0.1, a fixed
number of iterations (default 100, no early stop):
  sinkhorn:log:<B>x<n>x<n>:<it>   the authors' log-domain updates (bench/torch/reference.py),
                                  from the cost matrix to the plan
  sinkhorn:exp:<B>x<n>x<n>:<it>   the kernel (exp-domain) form on the same cost scaled to
                                  max 1 per matrix: K = exp(-C / eps), a = mu / (K b),
                                  b = nu / (K^T a), plan = a K b (exp of the raw cost underflows)
  cost:authors:<B>x<n>x<n>x<d>    the authors' broadcast cost sum_d |x_i - y_j|^2
  cost:matmul:<B>x<n>x<n>x<d>     |x|^2 + |y|^2 - 2 x y^T
Features are N(0, 1) / sqrt(d), d = 512.

  /usr/bin/python3 bench/torch/sinkhorn.py [--threads 2] [--batch 128] [--points 16] [--iters 100]
"""
from common import base_parser, start_torch, report, time_runs


def main():
    p = base_parser(__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--points", type=int, default=16)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--eps", type=float, default=0.1)
    args = p.parse_args()
    torch, threads = start_torch(args)
    if torch is None:
        return
    from reference import sinkhorn_log_authors, squared_distances_authors
    b, n, d, iters, eps = args.batch, args.points, args.dim, args.iters, args.eps
    x = torch.randn(b, n, d) / d ** 0.5
    y = torch.randn(b, n, d) / d ** 0.5

    def cost_matmul():
        return (x.square().sum(-1, keepdim=True) + y.square().sum(-1).unsqueeze(-2)
                - 2 * torch.matmul(x, y.transpose(-2, -1))).clamp_min(0)

    C = squared_distances_authors(x, y)
    C_unit = C / C.amax(dim=(-2, -1), keepdim=True)

    def sinkhorn_exp():
        K = torch.exp(-C_unit / eps)
        a = torch.full((b, n), 1.0 / n)
        v = torch.full((b, n), 1.0 / n)
        mu = torch.full((b, n), 1.0 / n)
        for _ in range(iters):
            a = mu / torch.matmul(K, v.unsqueeze(-1)).squeeze(-1)
            v = mu / torch.matmul(K.transpose(-2, -1), a.unsqueeze(-1)).squeeze(-1)
        return a.unsqueeze(-1) * K * v.unsqueeze(-2)

    shape = f"{b}x{n}x{n}"
    figures = {}
    with torch.no_grad():
        figures[f"sinkhorn:log:{shape}:{iters}"] = time_runs(lambda: sinkhorn_log_authors(C, eps, iters), args.warmup, args.reps)
        figures[f"sinkhorn:exp:{shape}:{iters}"] = time_runs(sinkhorn_exp, args.warmup, args.reps)
        figures[f"cost:authors:{shape}x{d}"] = time_runs(lambda: squared_distances_authors(x, y), args.warmup, args.reps)
        figures[f"cost:matmul:{shape}x{d}"] = time_runs(cost_matmul, args.warmup, args.reps)
        plan, _ = sinkhorn_log_authors(C, eps, iters)
        # How far 100 iterations get on this cost (the authors' plans need not converge).
        figures[f"sinkhorn:log:{shape}:{iters}"]["row_marginal_error"] = float((plan.sum(-1) - 1.0 / n).abs().max())
        figures[f"sinkhorn:log:{shape}:{iters}"]["col_marginal_error"] = float((plan.sum(-2) - 1.0 / n).abs().max())
    report(torch, threads, figures, eps=eps)


if __name__ == "__main__":
    main()
