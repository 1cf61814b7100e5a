import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { ModelOptions, createModel } from '../../lib/models';

/**
 * Parameter counts against counts computed here by hand from each architecture's layer list
 * (PyTorch conventions: conv k*k*in*out (+ out with bias), BN 2c, linear in*out + out), and
 * against published / PyTorch-reported totals.
 */
const conv = (k: number, cin: number, cout: number, bias = false) => k * k * cin * cout + (bias ? cout : 0);
const bn = (c: number) => 2 * c;
const linear = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);

function preActResNet18(classes: number): number {
  let n = conv(3, 3, 64) + bn(64); // stem with BN (the authors')
  let cin = 64;
  for (const [planes, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    for (let b = 0; b < 2; b++) {
      const s = b === 0 ? stride : 1;
      n += bn(cin) + conv(3, cin, planes) + bn(planes) + conv(3, planes, planes) + (s !== 1 || cin !== planes ? conv(1, cin, planes) : 0);
      cin = planes;
    }
  }
  return n + linear(512, classes);
}

function wrn16x8(classes: number): number {
  let n = conv(3, 3, 16, true);
  let cin = 16;
  for (const [planes, stride] of [[128, 1], [256, 2], [512, 2]]) {
    for (let b = 0; b < 2; b++) {
      const s = b === 0 ? stride : 1;
      n += bn(cin) + conv(3, cin, planes, true) + bn(planes) + conv(3, planes, planes, true) + (s !== 1 || cin !== planes ? conv(1, cin, planes, true) : 0);
      cin = planes;
    }
  }
  return n + bn(512) + linear(512, classes);
}

function resNet50(classes: number): number {
  let n = conv(7, 3, 64) + bn(64);
  let cin = 64;
  for (const [planes, blocks, stride] of [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]]) {
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 ? stride : 1;
      n += conv(1, cin, planes) + bn(planes) + conv(3, planes, planes) + bn(planes) + conv(1, planes, 4 * planes) + bn(4 * planes);
      if (s !== 1 || cin !== 4 * planes) n += conv(1, cin, 4 * planes) + bn(4 * planes);
      cin = 4 * planes;
    }
  }
  return n + linear(2048, classes);
}

function smallCnnEncoder(cin: number, widths = [32, 64, 64, 64]): number {
  let n = 0;
  for (const w of widths) {
    n += conv(3, cin, w) + bn(w);
    cin = w;
  }
  return n;
}

/** Residual up-block: BN, conv3x3, BN, conv3x3, 1x1 shortcut when channels change. */
const upBlock = (cin: number, cout: number) => bn(cin) + conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + (cin !== cout ? conv(1, cin, cout) : 0);

function count(options: ModelOptions): number {
  const model = createModel(options, new Rng(0));
  const n = model.numParameters();
  model.dispose();
  return n;
}

describe('models: parameter counts', () => {
  it('PreActResNet18 (authors\' variant): hand count; = published 11,171,146 + the stem BN\'s 128', () => {
    const c10 = count({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3] });
    assert.equal(c10, preActResNet18(10));
    assert.equal(c10, 11_171_146 + 128);
    assert.equal(count({ arch: 'preact-resnet18', numClasses: 100, inputShape: [32, 32, 3] }), preActResNet18(100));
  });

  it('WRN16-8: hand count; = 10,965,866 (PyTorch count of the authors\' module definition)', () => {
    const c10 = count({ arch: 'wrn16-8', numClasses: 10, inputShape: [32, 32, 3] });
    assert.equal(c10, wrn16x8(10));
    assert.equal(c10, 10_965_866);
  });

  it('ResNet-50: hand count; = torchvision resnet50\'s 25,557,032 for 1000 classes', () => {
    const c = count({ arch: 'resnet50', numClasses: 1000, inputShape: [224, 224, 3] });
    assert.equal(c, resNet50(1000));
    assert.equal(c, 25_557_032);
  });

  it('small CNN, embeddings, VAE heads and decoder: hand counts', () => {
    const enc = smallCnnEncoder(1);
    assert.equal(count({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1] }), enc + linear(64, 10));
    assert.equal(count({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1], embedding: 'fc', latentDim: 32 }),
      enc + linear(64, 32) + linear(32, 10));
    // Z = conv2x2/2 on A 4x4x64 -> 2x2x128; g on the flattened 512 values.
    assert.equal(count({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1], embedding: 'conv' }),
      enc + conv(2, 64, 128, true) + linear(512, 10));
    assert.equal(count({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1], embedding: 'conv', vae: true }),
      enc + 2 * conv(2, 64, 128, true) + linear(512, 10));
    // Decoder for 28x28: Linear(64 -> 4*4*64, no bias), up-blocks 4->7 (64->64), 7->14 (64->64),
    // 14->28 (64->32), output BN(32) + conv3x3(32 -> 1, bias).
    const decoder = linear(64, 4 * 4 * 64, false) + upBlock(64, 64) + upBlock(64, 64) + upBlock(64, 32) + bn(32) + conv(3, 32, 1, true);
    assert.equal(count({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1], embedding: 'fc', decoder: true }),
      enc + linear(64, 64) + linear(64, 10) + decoder);
    // Tensor latent: the decoder input is an up-block 2x2x128 -> 4x4x64 instead of the linear layer.
    assert.equal(count({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1], embedding: 'conv', decoder: true }),
      enc + conv(2, 64, 128, true) + linear(512, 10) + decoder - linear(64, 4 * 4 * 64, false) + upBlock(128, 64));
  });
});
