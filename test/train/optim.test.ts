import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint';
import { SGD } from '../../lib/train/optim';
import { everyNEpochs, lrMultiplier, scaleMilestones } from '../../lib/train/schedule';

/** PyTorch torch.optim.SGD on plain numbers (the documented update rule), for a sequence of gradients. */
function torchSgd(p0: number, grads: number[], lr: number, o: { momentum: number; wd: number; dampening: number; nesterov: boolean }): number[] {
  let p = p0;
  let buf: number | null = null;
  const out: number[] = [];
  for (const g of grads) {
    let d = g + o.wd * p;
    if (o.momentum) {
      buf = buf === null ? d : o.momentum * buf + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * buf : buf;
    }
    p -= lr * d;
    out.push(p);
  }
  return out;
}

describe('SGD', () => {
  for (const o of [
    { momentum: 0.9, wd: 1e-4, dampening: 0, nesterov: false },
    { momentum: 0.9, wd: 5e-4, dampening: 0, nesterov: true },
    { momentum: 0.5, wd: 0, dampening: 0.1, nesterov: false },
    { momentum: 0.5, wd: 1e-2, dampening: 0.3, nesterov: false },
    { momentum: 0, wd: 1e-2, dampening: 0, nesterov: false },
  ]) for (const implementation of ['auto', 'tfjs'] as const) {
    it(`follows PyTorch's update rule (${JSON.stringify(o)}, implementation ${implementation})`, () => {
      const p = tf.variable(tf.tensor1d([1.5]));
      const sgd = new SGD([{ name: 'all', params: [['p', p]] }], { momentum: o.momentum, weightDecay: o.wd, dampening: o.dampening, nesterov: o.nesterov, implementation });
      assert.equal(sgd.implementation, implementation === 'auto' && tf.getBackend() === 'tensorflow' ? 'native' : 'tfjs');
      const grads = [0.3, -0.2, 0.7, 0.1];
      const expected = torchSgd(1.5, grads, 0.1, o);
      grads.forEach((g, i) => {
        const gt = tf.tensor1d([g]);
        sgd.step({ [p.name]: gt }, { all: 0.1 });
        gt.dispose();
        assert.ok(Math.abs(p.dataSync()[0] - expected[i]) < 1e-6, `step ${i}: ${p.dataSync()[0]} vs ${expected[i]}`);
      });
      sgd.dispose();
      p.dispose();
    });
  }

  it('uses each group\'s learning rate and skips parameters without a gradient', () => {
    const a = tf.variable(tf.scalar(1));
    const b = tf.variable(tf.scalar(1));
    const c = tf.variable(tf.scalar(1));
    const sgd = new SGD([{ name: 'classifier', params: [['a', a]] }, { name: 'body', params: [['b', b], ['c', c]] }], { momentum: 0, weightDecay: 0 });
    const g = tf.scalar(1);
    sgd.step({ [a.name]: g, [b.name]: g }, { classifier: 0.1, body: 0.01 });
    assert.ok(Math.abs(a.dataSync()[0] - 0.9) < 1e-7 && Math.abs(b.dataSync()[0] - 0.99) < 1e-7);
    assert.equal(c.dataSync()[0], 1);
    assert.throws(() => sgd.step({}, { classifier: 0.1 }), /no learning rate for group 'body'/);
    tf.dispose([a, b, c, g]);
    sgd.dispose();
  });

  it('continues identically after saving and restoring its state', () => {
    const run = (restoreAt: number | null) => {
      const p = tf.variable(tf.tensor1d([1, -2]));
      let sgd = new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 0.9, weightDecay: 1e-4 });
      for (let i = 0; i < 5; i++) {
        if (i === restoreAt) {
          const s = sgd.getState();
          sgd.dispose();
          sgd = new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 0.9, weightDecay: 1e-4 });
          sgd.setState(s);
          tf.dispose(Object.values(s.buffers));
        }
        const g = tf.tensor1d([0.1 * (i + 1), -0.3]);
        sgd.step({ [p.name]: g }, { g: 0.05 });
        g.dispose();
      }
      const v = Array.from(p.dataSync());
      sgd.dispose();
      p.dispose();
      return v;
    };
    assert.deepEqual(run(3), run(null));
  });

  describe('native implementation (TensorFlow training kernels) against the TF.js one', () => {
    before(function () {
      if (tf.getBackend() !== 'tensorflow') {
        console.warn(`    SKIPPED: the native SGD needs the 'tensorflow' backend; this run is on '${tf.getBackend()}'`);
        this.skip();
      }
    });

    /** Two groups (lr 0.1 and 0.01) of random parameters, the same values for every call. */
    const makeParams = () => {
      const shapes: Record<string, number[]> = { 'classifier.w': [6, 3], 'classifier.b': [3], 'body.conv': [3, 3, 2, 4], 'body.bn': [4] };
      const params = Object.fromEntries(Object.entries(shapes).map(([path, shape], i) => [path, tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 11 + i))]));
      const groups = [
        { name: 'classifier', params: [['classifier.w', params['classifier.w']], ['classifier.b', params['classifier.b']]] as [string, tf.Variable][] },
        { name: 'body', params: [['body.conv', params['body.conv']], ['body.bn', params['body.bn']]] as [string, tf.Variable][] },
      ];
      return { params, groups };
    };
    const lr = { classifier: 0.1, body: 0.01 };
    /** Gradients of step i (fixed per path and step; 'body.bn' gets none on step 2, as a frozen parameter). */
    const gradsAt = (params: Record<string, tf.Variable>, i: number) => {
      const grads: tf.NamedTensorMap = {};
      Object.entries(params).forEach(([path, p], k) => {
        if (!(path === 'body.bn' && i === 2)) grads[p.name] = tf.randomNormal(p.shape, 0, 0.5, 'float32', 100 * i + k + 1);
      });
      return grads;
    };
    /** Largest |a - b| / max(1, |b|) over the elements. */
    const relDiff = (a: tf.Tensor, b: tf.Tensor) => {
      const x = Array.from(a.dataSync()), y = b.dataSync();
      return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]) / Math.max(1, Math.abs(y[i]))), 0);
    };
    // Float32 rounding: the two formulations group the sums differently, a few ulp (1.2e-7 each)
    // per step at values of order 1; 6 steps stay well under 1e-6.
    const TOL = 1e-6;

    for (const o of [
      { momentum: 0.9, weightDecay: 1e-4 },
      { momentum: 0.9, weightDecay: 5e-4, nesterov: true },
      { momentum: 0.5, weightDecay: 1e-2, dampening: 0.3 },
      { momentum: 0.8, weightDecay: 0 },
      { momentum: 0, weightDecay: 1e-2 },
    ]) {
      it(`gives the same parameters and momentum buffers after 6 steps (${JSON.stringify(o)})`, () => {
        const runs = (['auto', 'tfjs'] as const).map((implementation) => {
          const { params, groups } = makeParams();
          const sgd = new SGD(groups, { ...o, implementation });
          for (let i = 0; i < 6; i++) {
            if (i === 4) params['body.conv'].assign(tf.mul(params['body.conv'], 0.5)); // reassigned from outside (a checkpoint load)
            const grads = gradsAt(params, i);
            // A clone shares the parameter's data: the step must leave the clone's value alone.
            const held = i === 3 ? tf.clone(params['classifier.w']) : null;
            const heldBefore = held && Array.from(held.dataSync());
            sgd.step(grads, lr);
            if (held) {
              assert.deepEqual(Array.from(held.dataSync()), heldBefore, 'a clone of a parameter keeps its value through the step');
              assert.notDeepEqual(Array.from(params['classifier.w'].dataSync()), heldBefore, 'the parameter itself moved');
              held.dispose();
            }
            tf.dispose(Object.values(grads));
          }
          return { params, sgd, state: sgd.getState() };
        });
        const [native, plain] = runs;
        assert.equal(native.sgd.implementation, 'native');
        assert.equal(plain.sgd.implementation, 'tfjs');
        for (const path of Object.keys(plain.params)) {
          const d = relDiff(native.params[path], plain.params[path]);
          assert.ok(d < TOL, `${path}: parameters differ by ${d}`);
        }
        assert.deepEqual(Object.keys(native.state.buffers).sort(), Object.keys(plain.state.buffers).sort());
        assert.equal(Object.keys(plain.state.buffers).length, o.momentum ? 4 : 0);
        for (const path of Object.keys(plain.state.buffers)) {
          const d = relDiff(native.state.buffers[path], plain.state.buffers[path]);
          assert.ok(d < TOL, `${path}: momentum buffers differ by ${d}`);
        }
        assert.equal(native.state.step, 6);
        for (const r of runs) {
          tf.dispose([...Object.values(r.params), ...Object.values(r.state.buffers)]);
          r.sgd.dispose();
        }
      });
    }

    it('follows learning rates that change every step (more distinct constants than it keeps at once)', () => {
      // 2 new rates a step for 40 steps: the native kernel's cache of scalar constants (64) is
      // emptied and refilled on the way.
      const steps = 40;
      const runs = (['auto', 'tfjs'] as const).map((implementation) => {
        const { params, groups } = makeParams();
        const sgd = new SGD(groups, { momentum: 0.9, weightDecay: 5e-4, implementation });
        for (let i = 0; i < steps; i++) {
          const grads = gradsAt(params, i);
          sgd.step(grads, { classifier: 0.1 * 0.97 ** i, body: 0.01 * 0.95 ** i });
          tf.dispose(Object.values(grads));
        }
        return { params, sgd };
      });
      const [native, plain] = runs;
      assert.equal(native.sgd.implementation, 'native');
      for (const path of Object.keys(plain.params)) {
        const d = relDiff(native.params[path], plain.params[path]);
        assert.ok(d < TOL, `${path}: parameters differ by ${d}`);
      }
      for (const r of runs) {
        tf.dispose(Object.values(r.params));
        r.sgd.dispose();
      }
    });

    it('leaves a momentum below 1e-3 with weight decay to the TF.js path', () => {
      const p = tf.tidy(() => tf.variable(tf.zeros([2])));
      const tiny = new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 1e-4, weightDecay: 1e-4 });
      const usual = new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 1e-3, weightDecay: 1e-4 });
      assert.equal(tiny.implementation, 'tfjs');
      assert.equal(usual.implementation, 'native');
      tiny.dispose();
      usual.dispose();
      p.dispose();
    });

    it('matches a hand-computed step, restores a TF.js state and frees what it made', () => {
      const before = tf.memory().numTensors;
      const p = tf.tidy(() => tf.variable(tf.tensor1d([2, -1])));
      const sgd = new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 0.9, weightDecay: 0.1 });
      const buf = tf.tensor1d([0.5, 1]);
      sgd.setState({ step: 3, buffers: { p: buf } });
      const g = tf.tensor1d([0.3, -0.2]);
      sgd.step({ [p.name]: g }, { g: 0.5 });
      // d = g + 0.1 p = [0.5, -0.3]; buf = 0.9 buf + d = [0.95, 0.6]; p -= 0.5 buf = [1.525, -1.3]
      const state = sgd.getState();
      assert.equal(state.step, 4);
      const [bufExpected, pExpected] = [tf.tensor1d([0.95, 0.6]), tf.tensor1d([1.525, -1.3])];
      assert.ok(relDiff(state.buffers.p, bufExpected) < 1e-7, `buffer ${state.buffers.p.dataSync()}`);
      assert.ok(relDiff(p, pExpected) < 1e-7, `parameter ${p.dataSync()}`);
      assert.deepEqual(Array.from(buf.dataSync()), [0.5, 1], 'the restored tensor is copied, not updated in place');
      tf.dispose([buf, g, bufExpected, pExpected, ...Object.values(state.buffers)]);
      sgd.dispose();
      p.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  });

  it('rejects bad options and mismatched states', () => {
    const p = tf.variable(tf.zeros([2]));
    assert.throws(() => new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 1.5, weightDecay: 0 }), /momentum must be in \[0, 1\]/);
    assert.throws(() => new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 0.9, weightDecay: 0, lr: 1 } as never), /unknown option 'lr'/);
    assert.throws(() => new SGD([{ name: 'a', params: [['p', p]] }, { name: 'b', params: [['p', p]] }], { momentum: 0, weightDecay: 0 }), /more than one group/);
    assert.throws(() => new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 0, weightDecay: 0, implementation: 'gpu' as never }), /unknown implementation 'gpu'/);
    const sgd = new SGD([{ name: 'g', params: [['p', p]] }], { momentum: 0.9, weightDecay: 0 });
    const wrong = tf.zeros([3]);
    assert.throws(() => sgd.setState({ step: 1, buffers: { p: wrong } }), /has shape \[3\] but the parameter has \[2\]/);
    assert.throws(() => sgd.setState({ step: 1, buffers: { q: wrong } }), /unknown parameter 'q'/);
    tf.dispose([p, wrong]);
    sgd.dispose();
  });
});

describe('learning-rate schedule', () => {
  it('multiplies by gamma at each milestone (PyTorch MultiStepLR per epoch)', () => {
    const s = { milestones: everyNEpochs(500, 2000), gamma: 0.1 };
    assert.deepEqual(s.milestones, [500, 1000, 1500]);
    assert.equal(lrMultiplier(s, 0), 1);
    assert.equal(lrMultiplier(s, 499), 1);
    assert.ok(Math.abs(lrMultiplier(s, 500) - 0.1) < 1e-15);
    assert.ok(Math.abs(lrMultiplier(s, 1999) - 1e-3) < 1e-15);
  });

  it('scales milestones to a shorter run', () => {
    assert.deepEqual(scaleMilestones([500, 1000, 1500], 2000, 20), [5, 10, 15]);
    assert.deepEqual(scaleMilestones([600, 900], 1200, 4), [2, 3]);
    assert.deepEqual(scaleMilestones([500, 1000, 1500], 2000, 2), [1], 'milestones that collide or reach the end are dropped');
  });
});

describe('checkpoint files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-ckpt-'));

  it('round-trips float32 and int32 tensors and the metadata exactly', () => {
    const file = path.join(dir, 'a.ckpt');
    const t = { w: tf.tensor2d([[1.5, -2.25], [3e-8, 1e30]]), i: tf.tensor1d([1, -7, 2 ** 30], 'int32') };
    saveCheckpoint(file, t, { epoch: 3, note: 'x' });
    const back = loadCheckpoint<{ epoch: number; note: string }>(file);
    assert.deepEqual(back.meta, { epoch: 3, note: 'x' });
    assert.deepEqual(Array.from(back.tensors.w.dataSync()), Array.from(t.w.dataSync()));
    assert.deepEqual(back.tensors.w.shape, [2, 2]);
    assert.equal(back.tensors.i.dtype, 'int32');
    assert.deepEqual(Array.from(back.tensors.i.dataSync()), [1, -7, 2 ** 30]);
    tf.dispose([...Object.values(t), ...Object.values(back.tensors)]);
  });

  it('refuses truncated or foreign files with an error naming the file', () => {
    const file = path.join(dir, 'b.ckpt');
    const t = tf.ones([100]);
    saveCheckpoint(file, { t }, {});
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    assert.throws(() => loadCheckpoint(file), /b\.ckpt is not a valid alignmix checkpoint \(tensor 't' is truncated/);
    fs.writeFileSync(file, 'hello');
    assert.throws(() => loadCheckpoint(file), /bad magic bytes/);
    assert.throws(() => loadCheckpoint(path.join(dir, 'missing.ckpt')), /no checkpoint at/);
    t.dispose();
  });

  it('leaves the previous checkpoint intact and no temporary file when a write fails', () => {
    const file = path.join(dir, 'c.ckpt');
    const t = tf.tensor1d([1, 2, 3]);
    saveCheckpoint(file, { t }, { v: 1 });
    const before = fs.readFileSync(file);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const realFs = require('fs');
    const original = realFs.writeSync;
    let calls = 0;
    realFs.writeSync = (...args: unknown[]) => {
      if (++calls === 3) throw new Error('disk full');
      return original.apply(realFs, args);
    };
    try {
      assert.throws(() => saveCheckpoint(file, { t }, { v: 2 }), /disk full/);
    } finally {
      realFs.writeSync = original;
    }
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
    t.dispose();
  });
});
