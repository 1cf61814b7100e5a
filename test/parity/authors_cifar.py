"""The authors' CIFAR training path, transcribed for a CPU (shashankvkt/AlignMixup_CVPR22,
cifar10_100/: models/resnet.py, models/WideResnet.py, models/*_classifier.py, utils/OT.py, main.py),
plus the usual PyTorch forms of two baselines that code does not contain: manifold mixup (Verma et
al. 2019, hidden-layer mixing in the same PreActResNet) and CutMix (Yun et al. 2019, box pasting).

Kept from the original on purpose: their PreActResNet18 (a stem BN + ReLU, the identity branch
carrying relu(bn1(x)), no final BN), their WRN16-8 (biased convolutions, a final BN with PyTorch
momentum 0.9, then ReLU), their log-domain Sinkhorn (u then v, stop on the mean over the batch of
sum_i |du_i| < 0.1, at most 100 iterations, eps = 0.1 on raw squared distances), mixing after the
last feature map, average pooling, one linear layer, the loss
lam * CE(out, y) + (1 - lam) * CE(out, y[perm]) and torch.optim.SGD.
Changed: the random draws (permutation, lambda, which alignment, layer, box) are inputs, so both
sides use the same ones; the .cuda() calls are gone; images arrive as pixels in [0, 1] and are
normalised here with the constants of their transforms.Normalize.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


def normalise(x):
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return (x - mean) / std


# ---- PreActResNet18 (models/resnet.py) -------------------------------------------------------

class PreActBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False))

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        skip = self.shortcut(pre)
        return self.conv2(F.relu(self.bn2(self.conv1(pre)))) + skip


class PreActResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        planes_in = 64
        for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            blocks = [PreActBlock(planes_in, planes, stride), PreActBlock(planes, planes, 1)]
            setattr(self, 'layer%d' % (i + 1), nn.Sequential(*blocks))
            planes_in = planes

    def stages(self):
        """The forward as a list of stages: h_k = stages[k-1](h_{k-1}), h_0 = normalised input."""
        stem = lambda x: F.relu(self.bn1(self.conv1(x)))
        return [stem, self.layer1, self.layer2, self.layer3, self.layer4]


# ---- WRN16-8 (models/WideResnet.py) ----------------------------------------------------------

class WideBasic(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=True))

    def forward(self, x):
        h = self.conv1(F.relu(self.bn1(x)))
        return self.conv2(F.relu(self.bn2(h))) + self.shortcut(x)


class WideResNet16x8(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [16, 128, 256, 512]
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=1, padding=1, bias=True)
        planes_in = widths[0]
        for i, stride in enumerate([1, 2, 2]):
            planes = widths[i + 1]
            setattr(self, 'layer%d' % (i + 1), nn.Sequential(WideBasic(planes_in, planes, stride), WideBasic(planes, planes, 1)))
            planes_in = planes
        self.bn1 = nn.BatchNorm2d(widths[3], momentum=0.9)

    def stages(self):
        last = lambda x: F.relu(self.bn1(self.layer3(x)))
        return [self.conv1, self.layer1, self.layer2, last]


class Classifier(nn.Module):
    """models/resnet18_classifier.py, models/wrn16x8_classifier.py: encoder, average pool, linear."""

    def __init__(self, arch, num_classes):
        super().__init__()
        self.encoder = PreActResNet18() if arch == 'preact-resnet18' else WideResNet16x8()
        self.classifier = nn.Linear(512, num_classes)

    def head(self, a):
        return self.classifier(F.avg_pool2d(a, a.shape[2]).reshape(a.shape[0], -1))


# ---- Sinkhorn (utils/OT.py, SinkhornDistance(eps=0.1, max_iter=100)) -------------------------

def sinkhorn_plan(x, y, eps=0.1, max_iter=100, thresh=0.1):
    """x [B, r, c], y [B, r', c] -> plan [B, r, r'] of their log-domain iterations."""
    cost = ((x.unsqueeze(-2) - y.unsqueeze(-3)).abs() ** 2).sum(-1)
    batch, r, rp = cost.shape
    mu = torch.full((batch, r), 1.0 / r)
    nu = torch.full((batch, rp), 1.0 / rp)
    u = torch.zeros_like(mu)
    v = torch.zeros_like(nu)
    modified = lambda u, v: (-cost + u.unsqueeze(-1) + v.unsqueeze(-2)) / eps
    for _ in range(max_iter):
        u_prev = u
        u = eps * (torch.log(mu + 1e-8) - torch.logsumexp(modified(u, v), dim=-1)) + u
        v = eps * (torch.log(nu + 1e-8) - torch.logsumexp(modified(u, v).transpose(-2, -1), dim=-1)) + v
        if (u - u_prev).abs().sum(-1).mean().item() < thresh:
            break
    return torch.exp(modified(u, v))


# ---- mixing (the classifiers' mixup_process / mixup_aligned; Verma; Yun) ---------------------

def mixup_process(h, perm, lam):
    return h * lam + h[perm] * (1 - lam)


def mixup_aligned(a, perm, lam, which):
    """which 0: A~ = A' R^T mixed as lam A + (1 - lam) A~; which 1: A~' = A R, lam A~' + (1 - lam) A'."""
    feat1 = a.view(a.shape[0], a.shape[1], -1)
    feat2 = a[perm].view(a.shape[0], a.shape[1], -1)
    plan = sinkhorn_plan(feat1.permute(0, 2, 1), feat2.permute(0, 2, 1)).detach()
    assignment = plan * (a.shape[2] * a.shape[3])
    if which == 0:
        return feat1.view(a.shape) * lam + torch.matmul(feat2, assignment.permute(0, 2, 1)).view(a.shape) * (1 - lam)
    return torch.matmul(feat1, assignment).view(a.shape) * lam + feat2.view(a.shape) * (1 - lam)


def cutmix_images(x, perm, box):
    """Yun et al.: x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]; label weight 1 - area / (H W)."""
    y0, y1, x0, x1 = box
    out = x.clone()
    out[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    return out, 1 - (y1 - y0) * (x1 - x0) / (x.shape[2] * x.shape[3])


def mixup_criterion(logits, y, perm, lam):
    """main.py: lam * CE(pred, y_a) + (1 - lam) * CE(pred, y_b) with nn.CrossEntropyLoss (mean)."""
    ce = nn.CrossEntropyLoss()
    return lam * ce(logits, y) + (1 - lam) * ce(logits, y[perm])


def forward_loss(model, x, y, case, tensors):
    """One training forward in `case['mode']`; returns {'logits', 'loss'} (`tensors` unused here)."""
    mode, perm, lam = case['mode'], case['perm'], case['lambda']
    stages = model.encoder.stages()
    h = normalise(x)
    if mode == 'input':
        h = mixup_process(h, perm, lam)
    elif mode == 'cutmix':
        h, lam = cutmix_images(h, perm, case['box'])
    mix_at = case.get('manifoldStage') if mode == 'manifold' else None
    for k, stage in enumerate(stages):
        if mix_at == k:
            h = mixup_process(h, perm, lam)
        h = stage(h)
    if mode in ('feat', 'featPrime'):
        h = mixup_aligned(h, perm, lam, 0 if mode == 'feat' else 1)
    logits = model.head(h)
    if mode == 'clean':
        loss = nn.CrossEntropyLoss()(logits, y)
    else:
        loss = mixup_criterion(logits, y, perm, lam)
    return {'logits': logits, 'loss': loss}


# ---- names: the library's parameter paths <-> this transcription's --------------------------

def torch_name(arch, lib_path):
    """Library path (e.g. encoder.stem.conv.weight, ...bn.gamma) -> name in this module's state_dict."""
    name = lib_path.replace('.gamma', '.weight').replace('.beta', '.bias')
    name = name.replace('.runningMean', '.running_mean').replace('.runningVar', '.running_var')
    name = name.replace('.shortcut.', '.shortcut.0.')
    if arch == 'preact-resnet18':
        name = name.replace('encoder.stem.conv.', 'encoder.conv1.').replace('encoder.stem.bn.', 'encoder.bn1.')
    else:
        name = name.replace('encoder.stem.', 'encoder.conv1.').replace('encoder.bnOut.bn.', 'encoder.bn1.')
    return name
