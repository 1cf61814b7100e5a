"""Reference side of the step-parity tests (test/parity/*.test.ts).

    /usr/bin/python3 test/parity/run_step.py DIR

reads DIR/in.{json,bin} (initial weights and buffers, batch, the cases) and writes DIR/out.{json,bin}:
per case the step-1 logits, loss and gradient of every parameter, the losses of every step and
the parameters and BN buffers after `steps` SGD steps, all in the library's layouts. A case with
"replay" also applies torch.optim.SGD to the library's own gradients (sent as replay/<step>/<path>),
which checks the update rule alone; a case with "features" returns the plan of the authors'
Sinkhorn on those features (the library's A), which checks the solver alone.
"""
import sys
import time

import torch

import authors_cifar
import paper_ae
from tensor_io import read_bundle, write_bundle


def to_torch(path, t):
    """Library layout -> PyTorch layout (HWIO conv -> OIHW, [in, out] linear -> [out, in])."""
    if t.dim() == 4:
        return t.permute(3, 2, 0, 1).contiguous()
    if t.dim() == 2 and path.endswith('weight'):
        return t.t().contiguous()
    return t


def to_library(t):
    if t.dim() == 4:
        return t.permute(2, 3, 1, 0).contiguous()
    if t.dim() == 2:
        return t.t().contiguous()
    return t


def build(meta, tensors):
    """The reference model with the library's initial weights; returns (model, lib path -> torch tensor)."""
    if meta['kind'] == 'authors':
        model = authors_cifar.Classifier(meta['arch'], meta['numClasses'])
        rename = lambda p: authors_cifar.torch_name(meta['arch'], p)
    else:
        model = paper_ae.AutoEncoder(meta)
        rename = paper_ae.torch_name
    state = {}
    for key, t in tensors.items():
        for prefix in ('param/', 'buffer/'):
            if key.startswith(prefix):
                path = key[len(prefix):]
                state[rename(path)] = to_torch(path, t)
    own = model.state_dict()
    for name in own:
        if name.endswith('num_batches_tracked'):
            state[name] = own[name]
    model.load_state_dict(state, strict=True)
    named = dict(model.named_parameters())
    named.update(dict(model.named_buffers()))
    paths = {}
    for key in tensors:
        for prefix in ('param/', 'buffer/'):
            if key.startswith(prefix):
                paths[key[len(prefix):]] = (prefix, named[rename(key[len(prefix):])])
    return model, paths


def run_case(meta, tensors, case, out):
    torch.manual_seed(0)
    model, paths = build(meta, tensors)
    model.train()
    params = {p: t for p, (kind, t) in paths.items() if kind == 'param/'}
    optimizer = torch.optim.SGD(params.values(), lr=meta['lr'], momentum=meta['momentum'], weight_decay=meta['weightDecay'])
    x = tensors['x'].permute(0, 3, 1, 2).contiguous()
    y = tensors['y'].long()
    forward = authors_cifar.forward_loss if meta['kind'] == 'authors' else paper_ae.forward_loss
    name = case['name']
    losses = []
    for step in range(meta['steps']):
        optimizer.zero_grad()
        parts = forward(model, x, y, case, tensors)
        parts['loss'].backward()
        losses.append(parts['loss'].item())
        if step == 0:
            for key, value in parts.items():
                if value is not None and key != 'loss':
                    out[name + '/' + key] = value.detach().clone()
            for p, t in params.items():
                out[name + '/grad/' + p] = to_library(t.grad.clone())
        optimizer.step()
    out[name + '/losses'] = torch.tensor(losses)
    for p, (kind, t) in paths.items():
        out[name + '/after/' + p] = to_library(t.detach())
    if case.get('replay'):
        replay(meta, tensors, case, out)
    if case.get('features'):
        a = tensors[name + '/features']  # library's A, NHWC
        rows = a.reshape(a.shape[0], -1, a.shape[3])
        out[name + '/sinkhornPlan'] = authors_cifar.sinkhorn_plan(rows, rows[case['perm']])


def replay(meta, tensors, case, out):
    """torch.optim.SGD applied to the library's gradients of each step, from the initial weights."""
    _, paths = build(meta, tensors)
    params = {p: t for p, (kind, t) in paths.items() if kind == 'param/'}
    optimizer = torch.optim.SGD(params.values(), lr=meta['lr'], momentum=meta['momentum'], weight_decay=meta['weightDecay'])
    for step in range(meta['steps']):
        for p, t in params.items():
            t.grad = to_torch(p, tensors['%s/replay/%d/%s' % (case['name'], step, p)])
        optimizer.step()
    for p, t in params.items():
        out[case['name'] + '/replayed/' + p] = to_library(t.detach())


def main(directory):
    torch.set_num_threads(max(1, torch.get_num_threads()))
    meta, tensors = read_bundle(directory + '/in')
    out = {}
    timings = {}
    for case in meta['cases']:
        t0 = time.time()
        run_case(meta, tensors, case, out)
        timings[case['name']] = round(time.time() - t0, 3)
    write_bundle(directory + '/out', {'torch': torch.__version__, 'seconds': timings}, out)


if __name__ == '__main__':
    main(sys.argv[1])
