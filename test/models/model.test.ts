import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { ModelOptions, createModel, klDivergence, reparameterize } from '../../lib/models';

const FASHION: Pick<ModelOptions, 'arch' | 'numClasses' | 'inputShape'> = { arch: 'small-cnn', numClasses: 10, inputShape: [28, 28, 1] };

function pixels(batch: number, shape: readonly number[], seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.randomUniform([batch, shape[0], shape[1], shape[2]], 0, 1, 'float32', seed) as tf.Tensor4D);
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('models: behaviour', () => {
  it('is reproducible from the seed; different seeds give different weights', () => {
    const [a, b, c] = [1, 1, 2].map((s) => createModel({ ...FASHION, embedding: 'fc', decoder: true }, new Rng(s)));
    const flat = (m: typeof a) => m.namedParameters().flatMap(([, v]) => Array.from(v.dataSync()));
    assert.deepEqual(flat(a), flat(b));
    assert.notDeepEqual(flat(a), flat(c));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('normalises inside: cifar normalisation on x equals no normalisation on (x - mean) / std', () => {
    const opts: ModelOptions = { arch: 'small-cnn', numClasses: 5, inputShape: [32, 32, 3] };
    const withNorm = createModel({ ...opts, normalization: 'cifar' }, new Rng(3));
    const without = createModel({ ...opts, normalization: 'none' }, new Rng(3));
    const x = pixels(2, [32, 32, 3], 1);
    const xn = tf.tidy(() => tf.div(tf.sub(x, [0.4914, 0.4822, 0.4465]), [0.2023, 0.1994, 0.201])) as tf.Tensor4D;
    const [ya, yb] = [withNorm.logits(x, 'eval'), without.logits(xn, 'eval')];
    assert.ok(maxDiff(ya, yb) < 1e-4);
    assert.ok(tf.tidy(() => maxDiff(withNorm.logits(x, 'eval'), without.logits(x, 'eval'))) > 1e-3, 'normalisation changes the result');
    tf.dispose([x, xn, ya, yb]);
    withNorm.dispose();
    without.dispose();
  });

  it('state dict round trip through a fresh model: identical logits, latents and reconstructions', () => {
    const opts: ModelOptions = { ...FASHION, embedding: 'conv', vae: true, decoder: true };
    const a = createModel(opts, new Rng(1));
    const x = pixels(4, [28, 28, 1], 2);
    tf.dispose(a.logits(x, 'train')); // move the running statistics
    tf.dispose(tf.tidy(() => a.decode(a.embed(a.features(x, 'train')), 'train')));
    const state = a.stateDict();
    const b = createModel(opts, new Rng(99));
    b.loadStateDict(state);
    const outputs = (m: typeof a) => tf.tidy(() => {
      const feats = m.features(x, 'eval');
      const { mu, sigma } = m.embedGaussian(feats);
      return [m.predictLogits(x), mu, sigma, m.decode(mu, 'eval')];
    });
    const [oa, ob] = [outputs(a), outputs(b)];
    oa.forEach((t, i) => assert.deepEqual(Array.from(ob[i].dataSync()), Array.from(t.dataSync())));
    tf.dispose([x, ...oa, ...ob, ...Object.values(state)]);
    a.dispose();
    b.dispose();
  });

  it('loading a state dict of another configuration names the offending keys', () => {
    const c10 = createModel({ ...FASHION, embedding: 'fc' }, new Rng(1));
    const c5 = createModel({ ...FASHION, numClasses: 5 }, new Rng(1));
    const state = c10.stateDict();
    assert.throws(() => c5.loadStateDict(state),
      /unexpected keys: 'embedding\.proj\.weight', 'embedding\.proj\.bias'.*'classifier\.weight' expects \[64,5\] but got \[64,10\]/);
    tf.dispose(Object.values(state));
    c10.dispose();
    c5.dispose();
  });

  it('decoder output has the input shape, lies in (0, 1) and trains with a reconstruction loss', () => {
    const model = createModel({ ...FASHION, embedding: 'fc', decoder: true }, new Rng(4));
    const x = pixels(4, [28, 28, 1], 3);
    const xHat = tf.tidy(() => model.decode(model.embed(model.features(x, 'train')), 'train'));
    assert.deepEqual(xHat.shape, x.shape);
    const v = xHat.dataSync();
    assert.ok(v.every((p) => p > 0 && p < 1));
    const decoderVars = model.decoder!.namedParameters().map(([, p]) => p);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.decode(model.embed(model.features(x, 'train')), 'train'), x))) as tf.Scalar);
    assert.ok(decoderVars.every((p) => grads[p.name] !== undefined), 'every decoder parameter gets a gradient');
    assert.equal(grads[model.classifier.weight.name], undefined, 'the classifier is not on the reconstruction path');
    tf.dispose([x, xHat, value, ...Object.values(grads)]);
    model.dispose();
  });

  describe('VAE', () => {
    it('KL divergence equals the closed form 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2) per example', () => tf.tidy(() => {
      const mu = [[0, 0], [1, -2], [0.5, 0.3]];
      const sigma = [[1, 1], [0.5, 2], [0.1, 1.7]];
      const kl = klDivergence(tf.tensor2d(mu), tf.tensor2d(sigma)).arraySync();
      const ref = mu.map((m, i) => 0.5 * m.reduce((s, mj, j) => s + mj * mj + sigma[i][j] ** 2 - 1 - Math.log(sigma[i][j] ** 2), 0));
      assert.equal(kl[0], 0);
      kl.forEach((k, i) => assert.ok(Math.abs(k - ref[i]) < 1e-5, `${k} vs ${ref[i]}`));
      // Tensor latents (M, Sigma): sums over every coordinate; gradients d/dmu = mu, d/dsigma = sigma - 1/sigma.
      const m4 = tf.tensor4d([0.2, -0.4, 1, 0], [1, 2, 2, 1]);
      const s4 = tf.tensor4d([0.5, 1.5, 1, 2], [1, 2, 2, 1]);
      const [gm, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(klDivergence(a, b)))([m4, s4]);
      assert.ok(Math.abs(klDivergence(m4, s4).dataSync()[0] - 0.5 * [[0.2, 0.5], [-0.4, 1.5], [1, 1], [0, 2]]
        .reduce((s, [m, sg]) => s + m * m + sg * sg - 1 - Math.log(sg * sg), 0)) < 1e-5);
      assert.ok(Math.abs(gm.dataSync()[1] - -0.4) < 1e-6 && Math.abs(gs.dataSync()[0] - (0.5 - 2)) < 1e-5);
    }));

    it('reparameterisation: seeded, and z has mean mu and std sigma', () => {
      const mu = tf.fill([4000, 2], 0.5);
      const sigma = tf.tensor2d(Array.from({ length: 4000 }, () => [2, 0.1]).flat(), [4000, 2]);
      const z1 = reparameterize(mu, sigma, new Rng(5));
      const z2 = reparameterize(mu, sigma, new Rng(5));
      assert.deepEqual(Array.from(z1.dataSync()), Array.from(z2.dataSync()));
      const { mean, variance } = tf.moments(z1, 0);
      const [m, v] = [mean.dataSync(), variance.dataSync()];
      // Standard errors: 2/sqrt(4000) = 0.032 and 0.1/sqrt(4000) = 0.0016 for the means.
      assert.ok(Math.abs(m[0] - 0.5) < 0.13 && Math.abs(m[1] - 0.5) < 0.0065);
      assert.ok(Math.abs(Math.sqrt(v[0]) / 2 - 1) < 0.05 && Math.abs(Math.sqrt(v[1]) / 0.1 - 1) < 0.05);
      tf.dispose([mu, sigma, z1, z2, mean, variance]);
    });

    it('the model\'s Gaussian head gives sigma > 0 and predicts through mu', () => {
      const model = createModel({ ...FASHION, embedding: 'fc', vae: true }, new Rng(6));
      const x = pixels(3, [28, 28, 1], 4);
      const a = model.features(x, 'eval');
      const { mu, sigma } = model.embedGaussian(a);
      assert.ok(sigma.dataSync().every((s) => s > 0));
      const [viaMu, pred] = [model.classify(mu), model.predictLogits(x)];
      assert.ok(maxDiff(viaMu, pred) < 1e-5);
      tf.dispose([x, a, mu, sigma, viaMu, pred]);
      model.dispose();
    });
  });

  it('camInputs: mean_hw(features) @ weights + bias reproduces predictLogits for gap, fc and VAE-fc', () => {
    for (const extra of [{ embedding: 'gap' }, { embedding: 'fc', latentDim: 16 }, { embedding: 'fc', vae: true }] as const) {
      const model = createModel({ ...FASHION, ...extra }, new Rng(7));
      const x = pixels(3, [28, 28, 1], 5);
      const { features, weights, bias } = model.camInputs(x);
      assert.deepEqual(features.shape, [3, 4, 4, 64]);
      assert.deepEqual(weights.shape, [64, 10]);
      const fromCam = tf.tidy(() => tf.add(tf.matMul(tf.mean(features, [1, 2]) as tf.Tensor2D, weights), bias ?? 0));
      const logits = model.predictLogits(x);
      assert.ok(maxDiff(fromCam, logits) < 1e-4, JSON.stringify(extra));
      tf.dispose([x, features, weights, fromCam, logits, ...(bias ? [bias] : [])]);
      model.dispose();
    }
    const x = pixels(1, [28, 28, 1], 6);
    for (const embedding of ['conv', 'flat'] as const) {
      const spatial = createModel({ ...FASHION, embedding }, new Rng(7));
      assert.throws(() => spatial.camInputs(x), new RegExp(`camInputs: needs embedding 'gap' or 'fc', this model's is '${embedding}'`));
      spatial.dispose();
    }
    x.dispose();
  });

  it("'gap' and 'fc' embeddings ignore where feature vectors sit; 'flat' does not", () => {
    // Reversing the 16 positions of A keeps its mean: a pooled e cannot tell, a flattening one can.
    const a = tf.tidy(() => tf.relu(tf.randomNormal([2, 4, 4, 64], 0, 1, 'float32', 8)) as tf.Tensor4D);
    const moved = tf.tidy(() => tf.reshape(tf.reverse(tf.reshape(a, [2, 16, 64]), 1), [2, 4, 4, 64]) as tf.Tensor4D);
    for (const [embedding, invariant] of [['gap', true], ['fc', true], ['flat', false]] as const) {
      const model = createModel({ ...FASHION, embedding }, new Rng(9));
      const [z, zMoved] = [model.embed(a), model.embed(moved)];
      const d = maxDiff(z, zMoved);
      assert.ok(invariant ? d < 1e-5 : d > 1e-2, `${embedding}: max |e(A) - e(moved A)| = ${d}`);
      tf.dispose([z, zMoved]);
      model.dispose();
    }
    tf.dispose([a, moved]);
  });

  it('predictLogits is eval mode (running stats untouched) and differentiable w.r.t. the pixels', () => {
    const model = createModel(FASHION, new Rng(8));
    const x = pixels(2, [28, 28, 1], 7);
    const before = model.namedBuffers().map(([, v]) => Array.from(v.dataSync()));
    const g = tf.grad((xx: tf.Tensor) => tf.sum(model.predictLogits(xx as tf.Tensor4D)))(x);
    assert.deepEqual(g.shape, x.shape);
    assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0);
    assert.deepEqual(model.namedBuffers().map(([, v]) => Array.from(v.dataSync())), before);
    tf.dispose([x, g]);
    model.dispose();
  });

  it('parameter groups: the classifier alone, and everything else; disjoint and complete', () => {
    const model = createModel({ ...FASHION, embedding: 'fc', vae: true, decoder: true }, new Rng(9));
    const [cls, body] = model.parameterGroups();
    assert.equal(cls.name, 'classifier');
    assert.deepEqual(cls.params.map(([p]) => p), ['classifier.weight', 'classifier.bias']);
    assert.equal(body.name, 'body');
    const all = model.namedParameters().map(([p]) => p);
    assert.deepEqual([...cls.params, ...body.params].map(([p]) => p).sort(), [...all].sort());
    assert.ok(body.params.some(([p]) => p.startsWith('decoder.')) && body.params.some(([p]) => p.startsWith('embedding.logVar.')));
    model.dispose();
  });

  it('leaks no tensors: every method and a full training step (grads + BN updates)', () => {
    const model = createModel({ ...FASHION, embedding: 'fc', vae: true, decoder: true }, new Rng(10));
    const x = pixels(4, [28, 28, 1], 8);
    const start = tf.memory().numTensors;
    const rng = new Rng(11);
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => {
        const h = model.featuresRange(x, 0, 2, 'train');
        const a = model.featuresRange(h, 2, model.numStages, 'train');
        const { mu, sigma } = model.embedGaussian(a);
        const z = reparameterize(mu, sigma, rng);
        const ce = tf.mean(tf.logSoftmax(model.classify(z)));
        const rec = tf.mean(tf.square(tf.sub(model.decode(z, 'train'), x)));
        return tf.addN([ce, rec, tf.mean(klDivergence(mu, sigma))]) as tf.Scalar;
      });
      tf.dispose([value, ...Object.values(grads)]);
    }
    const outs = [model.predictLogits(x), model.logits(x, 'train'), model.features(x, 'eval'), model.featuresRange(x, 0, 0, 'eval')];
    const cam = model.camInputs(x);
    tf.dispose([...outs, cam.features, cam.weights, ...(cam.bias ? [cam.bias] : [])]);
    assert.equal(tf.memory().numTensors, start);
    x.dispose();
    model.dispose();
  });

  it('rejects invalid options and inputs with clear errors', () => {
    const rng = new Rng(0);
    const bad: [unknown, RegExp][] = [
      [{ ...FASHION, arch: 'resnet18' }, /createModel: unknown arch 'resnet18'; expected one of preact-resnet18, wrn16-8, resnet50, small-cnn/],
      [{ ...FASHION, embeding: 'fc' }, /createModel: unknown option 'embeding'/],
      [{ ...FASHION, vae: true }, /vae needs embedding 'fc' .* or 'conv' .*, got 'gap'/],
      [{ ...FASHION, latentDim: 8 }, /latentDim applies to embedding 'fc' or 'flat' only/],
      [{ ...FASHION, alignResolution: '8x8' }, /unknown alignResolution '8x8'/],
      [{ ...FASHION, inputShape: [28, 28] }, /inputShape must be \[height, width, channels\]/],
      [{ ...FASHION, numClasses: 0 }, /numClasses must be an integer in 1\.\.inf, got 0/],
      [{ ...FASHION, normalization: 'cifar' }, /normalization has 3 means and 3 stds, expected 1/],
      [{ ...FASHION, decoder: 'yes' }, /decoder must be a boolean/],
      [{ arch: 'small-cnn', numClasses: 2, inputShape: [2, 2, 1], embedding: 'conv' }, /'conv' needs A of at least 2x2, got 1x1/],
    ];
    const start = tf.memory().numTensors;
    for (const [options, message] of bad) assert.throws(() => createModel(options as ModelOptions, rng), message);
    assert.equal(tf.memory().numTensors, start, 'a rejected configuration leaks no variables');
    const model = createModel(FASHION, rng);
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    assert.throws(() => model.features(x, 'eval'), /AlignMixModel.features: x must have shape \[\*,28,28,1\], got \[1,32,32,3\]/);
    tf.tidy(() => assert.throws(() => model.decode(tf.zeros([1, 64]), 'eval'), /has no decoder/));
    x.dispose();
    model.dispose();
  });
});
