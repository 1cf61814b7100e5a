"""Tensor files exchanged with test/parity/exchange.ts.

A bundle is NAME.json, {"meta": {...}, "tensors": {key: {"shape": [...], "offset": bytes}}}, and
NAME.bin, the float32 little-endian values of every tensor, concatenated. Tensors are in the
library's layouts (NHWC activations, HWIO convolution weights, [in, out] linear weights); the
conversion to PyTorch's layouts happens in the reference code that reads them.
"""
import json

import numpy as np
import torch


def read_bundle(path):
    with open(path + '.json') as f:
        header = json.load(f)
    raw = np.fromfile(path + '.bin', dtype='<f4')
    tensors = {}
    for key, entry in header['tensors'].items():
        start = entry['offset'] // 4
        count = int(np.prod(entry['shape'])) if entry['shape'] else 1
        tensors[key] = torch.from_numpy(raw[start:start + count].reshape(entry['shape']).copy())
    return header['meta'], tensors


def write_bundle(path, meta, tensors):
    index = {}
    offset = 0
    with open(path + '.bin', 'wb') as f:
        for key, t in tensors.items():
            values = t.detach().to(torch.float32).contiguous().numpy().astype('<f4')
            f.write(values.tobytes())
            index[key] = {'shape': list(values.shape), 'offset': offset}
            offset += values.nbytes
    with open(path + '.json', 'w') as f:
        json.dump({'meta': meta, 'tensors': index}, f)
