import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { BatchNorm2d, Conv2d, Forward4D, Linear, Mode, Module, Sequential, globalAvgPool } from '../../lib/nn';

class ConvBn extends Module implements Forward4D {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number, rng: Rng) {
    super();
    this.conv = this.registerModule('conv', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1, bias: false }, rng));
    this.bn = this.registerModule('bn', new BatchNorm2d({ numFeatures: cout }));
  }
  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    return tf.relu(this.bn.forward(this.conv.forward(x), mode));
  }
}

class TinyNet extends Module {
  readonly body: Sequential;
  readonly head: Linear;
  constructor(rng: Rng, width = 4) {
    super();
    this.body = this.registerModule('body', new Sequential([new ConvBn(2, width, rng), new ConvBn(width, width, rng)]));
    this.head = this.registerModule('head', new Linear({ inFeatures: width, outFeatures: 3 }, rng));
  }
  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor2D {
    return tf.tidy(() => this.head.forward(globalAvgPool(this.body.forward(x, mode))));
  }
}

const X = () => tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 2 }, (_, i) => Math.sin(i)), [2, 5, 5, 2]);

describe('Module', () => {
  it('names parameters and buffers hierarchically in registration order', () => {
    const net = new TinyNet(new Rng(1));
    assert.deepEqual(net.namedParameters().map(([p]) => p), [
      'body.0.conv.weight', 'body.0.bn.gamma', 'body.0.bn.beta',
      'body.1.conv.weight', 'body.1.bn.gamma', 'body.1.bn.beta',
      'head.weight', 'head.bias',
    ]);
    assert.deepEqual(net.namedBuffers().map(([p]) => p), [
      'body.0.bn.runningMean', 'body.0.bn.runningVar', 'body.1.bn.runningMean', 'body.1.bn.runningVar',
    ]);
    assert.ok(net.namedParameters().every(([, v]) => v.trainable) && net.namedBuffers().every(([, v]) => !v.trainable));
    // By hand: convs 3*3*2*4 + 3*3*4*4, BNs 2*(4+4), linear 4*3 + 3.
    assert.equal(net.numParameters(), 72 + 144 + 16 + 15);
    net.dispose();
  });

  it('two instances coexist: tfjs variable names are generated, never collide', () => {
    const a = new TinyNet(new Rng(1));
    const b = new TinyNet(new Rng(1));
    const names = [...a.namedParameters(), ...b.namedParameters()].map(([, v]) => v.name);
    assert.equal(new Set(names).size, names.length);
    a.dispose();
    b.dispose();
  });

  it('state dict round trip: load into a differently seeded model gives identical outputs (train and eval)', () => {
    const a = new TinyNet(new Rng(1));
    const x = X();
    tf.dispose(a.forward(x, 'train')); // move running stats away from their initial values
    const state = a.stateDict();
    assert.equal(Object.keys(state).length, 12);
    const b = new TinyNet(new Rng(2));
    const [ya, yb0] = [a.forward(x, 'eval'), b.forward(x, 'eval')];
    assert.ok(tf.max(tf.abs(tf.sub(ya, yb0))).dataSync()[0] > 1e-3, 'different seeds differ before loading');
    b.loadStateDict(state);
    const yb = b.forward(x, 'eval');
    assert.deepEqual(Array.from(yb.dataSync()), Array.from(ya.dataSync()));
    const [ta, tb] = [a.forward(x, 'train'), b.forward(x, 'train')];
    assert.deepEqual(Array.from(tb.dataSync()), Array.from(ta.dataSync()));
    tf.dispose([x, ya, yb0, yb, ta, tb, ...Object.values(state)]);
    a.dispose();
    b.dispose();
  });

  it('a state dict is a snapshot: later updates of the module do not change it', () => {
    const net = new TinyNet(new Rng(3));
    const state = net.stateDict();
    const before = Array.from(state['body.0.bn.runningMean'].dataSync());
    const x = X();
    tf.dispose(net.forward(x, 'train'));
    tf.tidy(() => net.head.weight.assign(tf.zerosLike(net.head.weight)));
    assert.deepEqual(Array.from(state['body.0.bn.runningMean'].dataSync()), before);
    assert.notDeepEqual(Array.from((net.body.layers[0] as ConvBn).bn.runningMean.dataSync()), before);
    assert.ok(Array.from(state['head.weight'].dataSync()).some((v) => v !== 0));
    tf.dispose([x, ...Object.values(state)]);
    net.dispose();
  });

  it('reports missing, unexpected and wrong-shape keys in one error and leaves the module unchanged', () => {
    const net = new TinyNet(new Rng(4));
    const other = new TinyNet(new Rng(5), 6);
    const state = other.stateDict();
    const original = Array.from(net.head.bias!.dataSync());
    delete state['head.bias'];
    state['extra.weight'] = tf.zeros([1]);
    assert.throws(() => net.loadStateDict(state), (e: Error) => {
      assert.match(e.message, /^Module\.loadStateDict \(TinyNet\): /);
      assert.match(e.message, /missing keys: 'head\.bias'/);
      assert.match(e.message, /unexpected keys: 'extra\.weight'/);
      assert.match(e.message, /'body\.0\.conv\.weight' expects \[3,3,2,4\] but got \[3,3,2,6\]/);
      return true;
    });
    assert.deepEqual(Array.from(net.head.bias!.dataSync()), original);
    tf.dispose(Object.values(state));
    other.dispose();
    net.dispose();
  });

  it('non-strict loading takes the matching keys and still checks their shapes', () => {
    const a = new TinyNet(new Rng(6));
    const b = new TinyNet(new Rng(7));
    const headOnly = { 'head.weight': tf.clone(a.head.weight), 'head.bias': tf.clone(a.head.bias!), 'unused': tf.zeros([2]) };
    b.loadStateDict(headOnly, { strict: false });
    assert.deepEqual(Array.from(b.head.weight.dataSync()), Array.from(a.head.weight.dataSync()));
    const convWeight = (m: TinyNet) => Array.from((m.body.layers[0] as ConvBn).conv.weight.dataSync());
    assert.notDeepEqual(convWeight(b), convWeight(a), 'keys not in the dict keep their values');
    const wrong = { 'head.bias': tf.zeros([4]) };
    assert.throws(() => b.loadStateDict(wrong, { strict: false }), /'head\.bias' expects \[3\] but got \[4\]/);
    tf.dispose([...Object.values(headOnly), ...Object.values(wrong)]);
    a.dispose();
    b.dispose();
  });

  it('rejects duplicate and malformed names', () => {
    class Bad extends Module {
      constructor(name: string) {
        super();
        this.registerParameter('w', tf.zeros([1]));
        this.registerBuffer(name, tf.zeros([1]));
      }
    }
    assert.throws(() => new Bad('w'), /name 'w' is already used/);
    assert.throws(() => new Bad('a.b'), /name 'a\.b' must match/);
  });

  it('dispose releases every variable; forward passes leak no tensors', () => {
    const start = tf.memory().numTensors;
    const net = new TinyNet(new Rng(8));
    const x = X();
    const afterBuild = tf.memory().numTensors;
    for (const mode of ['train', 'eval'] as const) tf.dispose(net.forward(x, mode));
    assert.equal(tf.memory().numTensors, afterBuild);
    x.dispose();
    net.dispose();
    assert.equal(tf.memory().numTensors, start);
  });
});
