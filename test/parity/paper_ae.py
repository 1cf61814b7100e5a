"""The clean-mode step of AlignMix/AE and AlignMix/VAE written from the main paper's equations
(no authors' code exists for it), on the library's small CNN autoencoder.

Model (lib/models: small-cnn encoder, 'fc' embedding, residual decoder):
    A = E(x):  normalise, conv3x3-BN-ReLU stem, then conv3x3 stride 2-BN-ReLU blocks
    z = GAP(A) W + b                       (VAE: mu, log sigma^2 by two such heads;
                                            z = mu + sigma * noise, the noise given)
    logits = z W_g + b_g
    x_hat = D(z): linear (no bias) to A's shape (NHWC order), ResBlock-up per stage in reverse
            (BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, shortcut conv1x1 then upsample),
            BN-ReLU, conv3x3 with bias, sigmoid
Loss of a clean batch (main paper, loss (1), with the VAE's KL, Kingma & Welling):
    Lc = mean_b CE(logits_b, y_b)
    Lr = mean_b ||x_b - x_hat_b||^2                 (squared Euclidean distance per image)
    KL = mean_b 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
    loss = Lc + Lr [+ KL]
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from authors_cifar import normalise


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class ResBlockUp(nn.Module):
    def __init__(self, cin, cout, size):
        super().__init__()
        self.size = size
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=False) if cin != cout else None

    def up(self, h):
        return h if tuple(h.shape[2:]) == tuple(self.size) else F.interpolate(h, size=self.size, mode='nearest')

    def forward(self, x):
        h = self.conv1(self.up(F.relu(self.bn1(x))))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.up(self.shortcut(x) if self.shortcut is not None else x)


class Head(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.proj = nn.Linear(cin, cout)


class AutoEncoder(nn.Module):
    def __init__(self, meta):
        super().__init__()
        widths, size, self.vae = meta['widths'], meta['size'], meta['vae']
        self.encoder = nn.Module()
        shapes = [(3, size)]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self.encoder, 'stem' if i == 0 else 'block%d' % i, ConvBnRelu(shapes[-1][0], w, stride))
            shapes.append((w, (shapes[-1][1] - 1) // stride + 1))
        self.shapes = shapes
        c = widths[-1]
        self.embedding = nn.Module()
        self.embedding.proj = nn.Linear(c, c)
        if self.vae:
            self.embedding.logVar = nn.Linear(c, c)
        self.classifier = nn.Linear(c, meta['numClasses'])
        self.decoder = nn.Module()
        ca, sa = shapes[-1]
        self.decoder.input = nn.Linear(c, sa * sa * ca, bias=False)
        self.decoder.blocks = nn.Sequential(*[
            ResBlockUp(shapes[i + 1][0], shapes[i][0], (shapes[i][1], shapes[i][1])) for i in range(len(shapes) - 2, 0, -1)
        ])
        self.decoder.bnOut = nn.BatchNorm2d(shapes[1][0])
        self.decoder.convOut = nn.Conv2d(shapes[1][0], 3, 3, padding=1, bias=True)

    def encode(self, x):
        h = normalise(x)
        for name in ['stem'] + ['block%d' % i for i in range(1, len(self.shapes) - 1)]:
            h = getattr(self.encoder, name)(h)
        return h.mean(dim=(2, 3))

    def decode(self, z):
        ca, sa = self.shapes[-1]
        a = self.decoder.input(z).view(z.shape[0], sa, sa, ca).permute(0, 3, 1, 2)
        h = F.relu(self.decoder.bnOut(self.decoder.blocks(a)))
        return torch.sigmoid(self.decoder.convOut(h))


def forward_loss(model, x, y, case, tensors):
    pooled = model.encode(x)
    parts = {}
    if model.vae:
        mu = model.embedding.proj(pooled)
        sigma = torch.exp(0.5 * model.embedding.logVar(pooled))
        noise = tensors[case['name'] + '/noise']
        z = mu + sigma * noise
        parts['kl'] = (0.5 * (mu ** 2 + sigma ** 2 - 1 - torch.log(sigma ** 2)).sum(dim=1)).mean()
    else:
        z = model.embedding.proj(pooled)
    logits = model.classifier(z)
    x_hat = model.decode(z)
    parts['logits'] = logits
    parts['classification'] = F.cross_entropy(logits, y)
    parts['reconstruction'] = ((x - x_hat) ** 2).sum(dim=(1, 2, 3)).mean()
    parts['loss'] = parts['classification'] + parts['reconstruction'] + parts.get('kl', 0)
    return parts


def torch_name(lib_path):
    name = lib_path.replace('.gamma', '.weight').replace('.beta', '.bias')
    return name.replace('.runningMean', '.running_mean').replace('.runningVar', '.running_var')
