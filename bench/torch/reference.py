"""The authors' PreActResNet18 and batched log-domain Sinkhorn (AlignMixup_CVPR22, cifar10_100/
models/resnet.py, resnet18_classifier.py and utils/OT.py), restated for CPU timing.

PreActResNet18: conv3x3(3 -> 64) -> BN -> ReLU stem; PreActBlocks [2, 2, 2, 2] with widths 64,
128, 256, 512 and strides 1, 2, 2, 2; no final BN/ReLU; avg_pool2d(4) -> Linear(512, classes).
PreActBlock: a = relu(bn1(x)); skip = conv1x1_stride(a) when the shape changes, else a (their
empty nn.Sequential applied to the pre-activated tensor); y = conv2(relu(bn2(conv1(a)))) + skip.
All convs bias-free, 3x3 padding 1. 11,171,274 parameters with 10 classes.

Sinkhorn (their SinkhornDistance.forward), for cost C [B, n, m], uniform marginals mu = 1/n,
nu = 1/m, eps = 0.1, potentials in cost units:
  M(u, v) = (-C + u_i + v_j) / eps
  u <- eps (log(mu + 1e-8) - logsumexp_j M(u, v)) + u
  v <- eps (log(nu + 1e-8) - logsumexp_i M(u, v)) + v          (with the NEW u)
  stop when mean_b sum_i |u - u_prev| < 0.1 (their thresh), at most max_iter times
  plan = exp(M(u, v))
Their cost is sum_d |x_id - y_jd|^2 by broadcasting [B, n, 1, d] - [B, 1, m, d].
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class PreActBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """Encoder (stem + 4 stages) and linear classifier; `features` gives the last feature map A."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(3, 64)
        self.bn1 = nn.BatchNorm2d(64)
        layers, in_planes = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(PreActBlock(in_planes, planes, stride), PreActBlock(planes, planes, 1)))
            in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, num_classes)

    def features(self, x):
        return self.layers(F.relu(self.bn1(self.conv1(x))))

    def classify(self, a):
        return self.classifier(F.avg_pool2d(a, a.shape[-1]).flatten(1))

    def forward(self, x):
        return self.classify(self.features(x))


def squared_distances_authors(x, y):
    """C[b, i, j] = sum_d |x[b, i, d] - y[b, j, d]|^2 by broadcasting, as the authors compute it."""
    return torch.sum(torch.abs(x.unsqueeze(-2) - y.unsqueeze(-3)) ** 2, -1)


def sinkhorn_log_authors(C, eps=0.1, max_iter=100, thresh=None):
    """Plan [B, n, m] and the iterations run; thresh=None runs exactly max_iter iterations,
    thresh=0.1 is the authors' stopping rule (it syncs on err.item() every iteration)."""
    b, n, m = C.shape
    log_mu = torch.log(torch.full((b, n), 1.0 / n) + 1e-8)
    log_nu = torch.log(torch.full((b, m), 1.0 / m) + 1e-8)
    u = torch.zeros(b, n)
    v = torch.zeros(b, m)

    def M(u, v):
        return (-C + u.unsqueeze(-1) + v.unsqueeze(-2)) / eps

    iters = 0
    for _ in range(max_iter):
        u_prev = u
        u = eps * (log_mu - torch.logsumexp(M(u, v), dim=-1)) + u
        v = eps * (log_nu - torch.logsumexp(M(u, v).transpose(-2, -1), dim=-1)) + v
        iters += 1
        if thresh is not None and (u - u_prev).abs().sum(-1).mean().item() < thresh:
            break
    return torch.exp(M(u, v)), iters


def align_mix_authors(a, perm, lam, max_iter=100, thresh=None):
    """Their mixup_aligned with align_mix = 0: A~ = A' R^T, mixed = lam A + (1 - lam) A~.
    Returns the mixed features and the Sinkhorn iterations run."""
    b, c, h, w = a.shape
    feat1 = a.view(b, c, h * w)
    feat2 = a[perm].view(b, c, h * w)
    C = squared_distances_authors(feat1.permute(0, 2, 1), feat2.permute(0, 2, 1))
    P, iters = sinkhorn_log_authors(C, max_iter=max_iter, thresh=thresh)
    R = P.detach() * (h * w)
    aligned = torch.matmul(feat2, R.permute(0, 2, 1)).view(a.shape)
    return feat1.view(a.shape) * lam + aligned * (1 - lam), iters
