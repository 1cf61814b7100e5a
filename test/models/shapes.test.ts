import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { ResidualUpBlock } from '../../lib/nn';
import { AlignMixModel, AlignResolution, Arch, createModel } from '../../lib/models';

function pixels(batch: number, shape: readonly number[], seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.randomUniform([batch, shape[0], shape[1], shape[2]], 0, 1, 'float32', seed) as tf.Tensor4D);
}

/** Run E in train mode and check A's shape against the analytic featureShape and the expected one. */
function checkFeatures(model: AlignMixModel, batch: number, expected: number[]): void {
  const x = pixels(batch, model.inputShape, 1);
  const a = model.features(x, 'train');
  assert.deepEqual(a.shape, [batch, ...expected]);
  assert.deepEqual(model.featureShape, expected);
  tf.dispose([x, a]);
}

describe('models: shapes', () => {
  const table: [Arch, [number, number, number], AlignResolution, number[]][] = [
    ['preact-resnet18', [32, 32, 3], 'default', [4, 4, 512]],
    ['preact-resnet18', [32, 32, 3], 'pooled', [2, 2, 512]],
    ['preact-resnet18', [32, 32, 3], 'unstrided', [8, 8, 512]],
    ['preact-resnet18', [64, 64, 3], 'default', [8, 8, 512]],
    ['wrn16-8', [32, 32, 3], 'default', [8, 8, 512]],
    ['wrn16-8', [32, 32, 3], 'pooled', [4, 4, 512]],
    ['small-cnn', [28, 28, 1], 'default', [4, 4, 64]],
    ['small-cnn', [32, 32, 3], 'default', [4, 4, 64]],
    ['small-cnn', [28, 28, 1], 'pooled', [2, 2, 64]],
    ['small-cnn', [28, 28, 1], 'unstrided', [7, 7, 64]],
  ];
  for (const [arch, inputShape, alignResolution, expected] of table) {
    it(`${arch} ${inputShape.join('x')} ${alignResolution}: A = ${expected.join('x')}, logits [B, k]`, () => {
      const model = createModel({ arch, numClasses: 7, inputShape, alignResolution }, new Rng(1));
      checkFeatures(model, 2, expected);
      const x = pixels(2, inputShape, 2);
      const logits = model.logits(x, 'train');
      assert.deepEqual(logits.shape, [2, 7]);
      tf.dispose([x, logits]);
      model.dispose();
    });
  }

  it('ResNet-50 at 224: A = 7x7x2048; last stage unstrided (CUB WSOL): 14x14x2048', function () {
    this.timeout(60000);
    for (const [alignResolution, expected] of [['default', [7, 7, 2048]], ['unstrided', [14, 14, 2048]]] as const) {
      const model = createModel({ arch: 'resnet50', numClasses: 200, inputShape: [224, 224, 3], alignResolution }, new Rng(1));
      assert.deepEqual(model.encoder.shapes.map((s) => s.join('x')), ['224x224x3', '56x56x64', '56x56x256', '28x28x512', '14x14x1024', expected.join('x')]);
      checkFeatures(model, 1, [...expected]);
      model.dispose();
    }
  });

  it('second-stage encoders, classifier, VAE heads and decoder (PreActResNet18, 32x32)', () => {
    const x = pixels(2, [32, 32, 3], 3);
    const cases = [
      { embedding: 'gap', vae: false, z: [2, 512] },
      { embedding: 'fc', vae: false, z: [2, 512] },
      { embedding: 'flat', vae: false, z: [2, 512] },
      { embedding: 'conv', vae: false, z: [2, 2, 2, 128] },
      { embedding: 'fc', vae: true, z: [2, 512] },
      { embedding: 'conv', vae: true, z: [2, 2, 2, 128] },
    ] as const;
    for (const { embedding, vae, z: zShape } of cases) {
      const model = createModel({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3], embedding, vae, decoder: true }, new Rng(2));
      const a = model.features(x, 'train');
      const z = model.embed(a);
      assert.deepEqual(z.shape, zShape, `${embedding} vae=${vae}`);
      assert.deepEqual(model.latentShape, zShape.slice(1));
      const logits = model.classify(z);
      assert.deepEqual(logits.shape, [2, 10]);
      const xHat = model.decode(z, 'train');
      assert.deepEqual(xHat.shape, [2, 32, 32, 3]);
      const extra: tf.Tensor[] = [];
      if (vae) {
        const { mu, sigma } = model.embedGaussian(a);
        assert.deepEqual(mu.shape, zShape);
        assert.deepEqual(sigma.shape, zShape);
        extra.push(mu, sigma);
      } else {
        assert.throws(() => model.embedGaussian(a), /has no Gaussian head/);
      }
      tf.dispose([a, z, logits, xHat, ...extra]);
      model.dispose();
    }
    x.dispose();
  });

  it('decoder mirrors the encoder: PreActResNet18 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 32x32x64 -> 32x32x3', () => {
    const model = createModel({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3], decoder: true }, new Rng(3));
    const d = model.decoder!;
    const shapes = d.blocks.layers.map((b) => {
      const block = b as ResidualUpBlock;
      return [...block.outSize, block.conv2.outChannels].join('x');
    });
    assert.deepEqual(shapes, ['8x8x256', '16x16x128', '32x32x64', '32x32x64']);
    assert.deepEqual([...d.outputShape], [32, 32, 3]);
    model.dispose();
  });

  it('decoders for pooled / unstrided A and 28x28 inputs restore the input shape', () => {
    for (const alignResolution of ['pooled', 'unstrided', 'default'] as const) {
      for (const embedding of ['fc', 'conv'] as const) {
        const model = createModel({ arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1], embedding, decoder: true, alignResolution }, new Rng(4));
        const x = pixels(3, [28, 28, 1], 5);
        const xHat = tf.tidy(() => model.decode(model.embed(model.features(x, 'train')), 'train'));
        assert.deepEqual(xHat.shape, [3, 28, 28, 1], `${alignResolution} ${embedding}`);
        tf.dispose([x, xHat]);
        model.dispose();
      }
    }
  });

  it('staged encoder: h_k shapes follow encoder.shapes, and running 0..k then k..n equals the full E', () => {
    for (const arch of ['small-cnn', 'preact-resnet18'] as const) {
      const model = createModel({ arch, numClasses: 10, inputShape: [32, 32, 3] }, new Rng(6));
      const x = pixels(2, [32, 32, 3], 7);
      const full = model.features(x, 'eval');
      for (let k = 0; k <= model.numStages; k++) {
        const h = model.featuresRange(x, 0, k, 'eval');
        assert.deepEqual(h.shape, [2, ...model.encoder.shapes[k]]);
        const a = model.featuresRange(h, k, model.numStages, 'eval');
        assert.deepEqual(Array.from(a.dataSync()), Array.from(full.dataSync()), `${arch} split at k = ${k}`);
        tf.dispose([h, a]);
      }
      assert.throws(() => model.featuresRange(x, 1, 2, 'eval'), /h_1 must have shape/);
      tf.dispose([x, full]);
      model.dispose();
    }
  });
});
