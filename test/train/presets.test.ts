import { strict as assert } from 'assert';
import { protocolDescription, protocolNames, resolveConfig } from '../../lib/train/config';

describe('protocol presets: sources and the authors\'-code variants', () => {
  it('every preset names its source', () => {
    for (const p of protocolNames()) assert.match(protocolDescription(p), /source: /, p);
  });

  it('the -authors presets: full training set, the authors\' method and solver, their batch sizes and ImageNet recipe', () => {
    for (const paper of ['cifar10', 'cifar100', 'tinyimagenet', 'imagenet']) {
      const c = resolveConfig(`${paper}-authors`, { data: { root: '/nonexistent' } });
      const p = resolveConfig(paper, { data: { root: '/nonexistent' } });
      assert.equal(c.data.trainSplit, 'trainFull', paper);
      assert.equal(p.data.trainSplit, 'train', paper);
      assert.equal(c.method, 'alignmix-authors');
      assert.equal(c.sinkhorn.solver, 'reference');
      assert.equal(c.model.embedding, 'gap');
    }
    assert.equal(resolveConfig('tinyimagenet-authors').batchSize, 256);
    assert.equal(resolveConfig('cifar10-authors').batchSize, 128);
    const im = resolveConfig('imagenet-authors');
    assert.deepEqual(im.optim, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    assert.deepEqual(im.schedule, { milestones: [75, 150, 225], gamma: 0.1 });
    assert.equal(im.batchSize, 1024);
    assert.equal(im.epochs, 300);
    assert.equal(im.data.colorAugment, true);
    assert.equal(resolveConfig('imagenet').data.colorAugment, undefined);
    assert.throws(() => resolveConfig('imagenet-authors', { data: { augment: false } }), /config\.data\.colorAugment is set but data\.augment is false/);
  });
});
