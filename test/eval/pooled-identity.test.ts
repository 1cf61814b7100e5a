import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { assertPooledIdentity, pooledIdentity } from '../../lib/eval/pooled-identity';
import { createModel } from '../../lib/models';
import { Rng } from '../../lib/random';

function tinyModel(embedding: 'gap' | 'fc' | 'flat') {
  return createModel({ arch: 'small-cnn', numClasses: 4, inputShape: [16, 16, 1], smallCnnWidths: [8, 16, 16, 16], embedding }, new Rng(4));
}

describe('eval/pooled-identity', () => {
  const perm = [3, 0, 5, 1, 2, 4];
  let x: tf.Tensor4D;
  before(() => {
    const rng = new Rng(9);
    x = tf.tensor4d(Array.from({ length: 6 * 16 * 16 }, () => rng.uniform()), [6, 16, 16, 1]);
  });
  after(() => x.dispose());

  it('pooled e: aligned feature mixup equals latent mixup within the marginal-error bound, and to float error once the plan converges', () => {
    for (const e of ['gap', 'fc'] as const) {
      const model = tinyModel(e);
      const loose = pooledIdentity(model, x, perm, 0.3, { sinkhorn: { maxIter: 2, warn: false } });
      assert.ok(loose.pooled && loose.marginalError > 1e-3, `${e}: few iterations leave a marginal error (${loose.marginalError})`);
      assert.ok(loose.alignedVsLatent > 1e-6 && loose.alignedVsLatent <= loose.bound * (1 + 1e-4) + 1e-6,
        `${e}: ${loose.alignedVsLatent} within the bound ${loose.bound}`);
      const tight = pooledIdentity(model, x, perm, 0.3, { sinkhorn: { tol: 1e-6, maxIter: 3000, warn: false } });
      assert.ok(tight.alignedVsLatent < 1e-4, `${e}: converged plan, ${tight.alignedVsLatent}`);
      assert.ok(tight.unalignedVsLatent < 1e-5, `${e}: unaligned = latent for a linear e`);
      assertPooledIdentity(loose, e);
      assertPooledIdentity(tight, e);
      assert.throws(() => assertPooledIdentity({ ...loose, alignedVsLatent: 2 * loose.bound + 1e-3 }, 'nb'), /nb: pooled e .* exceeds the marginal-error bound/);
      model.dispose();
    }
  });

  it('flat e: the alignment reaches z (aligned differs from latent mixup), while unaligned still equals it', () => {
    const model = tinyModel('flat');
    const rep = pooledIdentity(model, x, perm, 0.3, { sinkhorn: { tol: 1e-6, maxIter: 3000, warn: false } });
    assert.equal(rep.pooled, false);
    assert.ok(Number.isNaN(rep.bound));
    assert.ok(rep.alignedVsLatent > 1e-2, `flat: ${rep.alignedVsLatent}`);
    assert.ok(rep.unalignedVsLatent < 1e-5, `flat, unaligned: ${rep.unalignedVsLatent}`);
    assertPooledIdentity(rep, 'flat');
    assert.throws(() => assertPooledIdentity({ ...rep, alignedVsLatent: 1e-4 }, 'nb'), /the alignment does not reach z/);
    model.dispose();
  });
});
