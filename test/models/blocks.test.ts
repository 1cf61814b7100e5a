import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { Bottleneck, PreActBlock, WideBlock } from '../../lib/models';

/**
 * Block semantics written out from the authors' PyTorch forward methods, using the block's own
 * sub-layers, so a "textbook" rewrite (e.g. identity = x in PreActBlock, stride on conv1 in the
 * wide block) fails here. Train mode: BN uses batch statistics, so results are deterministic.
 */
function input(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}

function assertClose(a: tf.Tensor, b: tf.Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, what);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  assert.ok(d < 1e-5, `${what}: max diff ${d}`);
}

describe('models: residual blocks follow the authors\' forward code', () => {
  it('PreActBlock: identity branch carries relu(bn1(x)) (their empty nn.Sequential shortcut), projection on it too', () => tf.tidy(() => {
    for (const [cin, cout, stride] of [[4, 4, 1], [4, 6, 2]]) {
      const block = new PreActBlock(cin, cout, stride, new Rng(1));
      const x = input([2, 6, 6, cin], 2);
      const y = block.forward(x, 'train');
      const a = tf.relu(block.bn1.forward(x, 'train'));
      const skip = block.shortcut ? block.shortcut.forward(a) : a;
      const ref = tf.add(block.conv2.forward(tf.relu(block.bn2.forward(block.conv1.forward(a), 'train'))), skip);
      assertClose(y, ref, `PreActBlock ${cin}->${cout}/${stride}`);
      assert.equal(block.shortcut === null, stride === 1 && cin === cout);
      block.dispose();
    }
  }));

  it('WideBlock: stride on the second conv, identity/projection on the raw x, biases on every conv', () => tf.tidy(() => {
    const block = new WideBlock(4, 6, 2, new Rng(3));
    assert.equal(block.conv1.stride, 1);
    assert.equal(block.conv2.stride, 2);
    assert.ok(block.conv1.bias && block.conv2.bias && block.shortcut?.bias);
    const x = input([2, 6, 6, 4], 4);
    const y = block.forward(x, 'train');
    const h = block.conv1.forward(tf.relu(block.bn1.forward(x, 'train')));
    const ref = tf.add(block.conv2.forward(tf.relu(block.bn2.forward(h, 'train'))), block.shortcut!.forward(x));
    assertClose(y, ref, 'WideBlock');
    block.dispose();
  }));

  it('Bottleneck: stride on the 3x3 conv, BN-projected shortcut, ReLU after the sum', () => tf.tidy(() => {
    const block = new Bottleneck(8, 2, 2, new Rng(5));
    assert.deepEqual([block.conv1.stride, block.conv2.stride, block.conv3.stride], [1, 2, 1]);
    const x = input([2, 6, 6, 8], 6);
    const y = block.forward(x, 'train');
    let h = tf.relu(block.bn1.forward(block.conv1.forward(x), 'train'));
    h = tf.relu(block.bn2.forward(block.conv2.forward(h), 'train'));
    h = block.bn3.forward(block.conv3.forward(h), 'train');
    const ds = block.downsample!;
    const ref = tf.relu(tf.add(h, ds.bn.forward(ds.conv.forward(x), 'train')));
    assertClose(y, ref, 'Bottleneck');
    assert.ok(y.dataSync().every((v) => v >= 0));
    block.dispose();
  }));
});
