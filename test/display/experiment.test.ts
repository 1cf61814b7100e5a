import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PAPER_TABLE1, methodRows, summaryFigure, summaryRows } from '../../lib/display/experiment';
import { resolveConfig } from '../../lib/train/config';
import { QUICK_SIZE, findDatasetFolder, mergeOverrides, planExperiment } from '../../lib/train/plan';
import type { RunSummary } from '../../lib/train/trainer';

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alignmix-${prefix}-`));

/** Empty files standing in for a dataset's entries (folders for names without an extension). */
function fakeDataset(dir: string, entries: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const e of entries) {
    if (path.extname(e)) fs.writeFileSync(path.join(dir, e), '');
    else fs.mkdirSync(path.join(dir, e), { recursive: true });
  }
}

function summary(overrides: Partial<RunSummary>): RunSummary {
  return {
    protocol: 'p', method: 'm', seed: 0, epochs: 4, bestValAccuracy: 0.8, bestValEpoch: 3, testAccuracyAtBestVal: 0.75,
    bestTestAccuracy: 0.8, bestTestEpoch: 2, medianLastNTestAccuracy: 0.7, lastN: 2, finalTestAccuracy: 0.7, trainSeconds: 12,
    ...overrides,
  };
}

describe('display: experiment flow', () => {
  it('findDatasetFolder finds a dataset as root/<folder> or as root itself, and null when absent', () => {
    const root = tmp('data');
    try {
      assert.equal(findDatasetFolder('cifar10', root), null);
      fakeDataset(path.join(root, 'cifar-10-batches-bin'), ['data_batch_1.bin']);
      assert.equal(findDatasetFolder('cifar10', root), null, 'test_batch.bin is still missing');
      fakeDataset(path.join(root, 'cifar-10-batches-bin'), ['test_batch.bin']);
      assert.equal(findDatasetFolder('cifar10', root), path.join(root, 'cifar-10-batches-bin'));
      const direct = path.join(root, 'my-imagenet');
      fakeDataset(direct, ['train', 'val']);
      assert.equal(findDatasetFolder('imagenet100', direct), direct);
      assert.equal(findDatasetFolder('tinyimagenet', root), null);
      assert.equal(findDatasetFolder('fashion-mnist', root), root, 'embedded datasets need no folder');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('mergeOverrides merges sections field by field, later layers winning, arrays replaced', () => {
    const merged = mergeOverrides(
      { epochs: 3, data: { trainPerClass: 5, workers: 0 }, schedule: { milestones: [1, 2] } },
      undefined,
      { data: { workers: 2 }, schedule: { milestones: [7] }, method: 'cutmix' },
    );
    assert.deepEqual(merged, { epochs: 3, data: { trainPerClass: 5, workers: 2 }, schedule: { milestones: [7] }, method: 'cutmix' });
  });

  it('planExperiment falls back to a quick Fashion-MNIST run when the dataset is absent', () => {
    const root = tmp('nodata');
    try {
      const plan = planExperiment({ protocol: 'cifar10', method: 'alignmixup', dataRoot: root, overrides: { sinkhorn: { maxIter: 7, tol: 0 } } });
      assert.equal(plan.quick, true);
      assert.equal(plan.datasetFolder, null);
      const c = plan.config;
      assert.equal(c.protocol, 'fashion-mnist');
      assert.equal(c.method, 'alignmixup');
      assert.equal(c.model.arch, 'small-cnn');
      assert.equal(c.epochs, QUICK_SIZE.epochs);
      assert.equal(c.batchSize, QUICK_SIZE.batchSize);
      assert.equal(c.data.trainPerClass, QUICK_SIZE.trainImages / 10);
      assert.equal(c.data.testPerClass, QUICK_SIZE.testImages / 10);
      assert.equal(c.sinkhorn.maxIter, 7);
      assert.equal(c.sinkhorn.tol, 0);
      assert.match(plan.note, /QUICK .*cifar10 dataset is not under/);
      assert.throws(() => planExperiment({ protocol: 'cifar10', method: 'alignmixup', dataRoot: root, quick: false }),
        /planExperiment: the full 'cifar10' setting needs its dataset \(cifar-10-batches-bin\)/);
      assert.throws(() => planExperiment({ protocol: 'cifar10', method: 'x', dataRoot: root, quickSize: { epoch: 2 } as never }), /quickSize.*epoch/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('planExperiment runs the paper protocol on a present dataset (full) and caps it by class count (quick)', () => {
    const root = tmp('data');
    try {
      const folder = path.join(root, 'cifar-100-binary');
      fakeDataset(folder, ['train.bin', 'test.bin']);
      const full = planExperiment({ protocol: 'cifar100', method: 'alignmix', dataRoot: root, quick: false, full: { model: { arch: 'wrn16-8' } } });
      const paper = resolveConfig('cifar100', { method: 'alignmix', model: { arch: 'wrn16-8' }, data: { root: folder } });
      assert.deepEqual(full.config, paper);
      assert.match(full.note, /^FULL/);
      const quick = planExperiment({ protocol: 'cifar100', method: 'alignmix', dataRoot: root, quick: true, quickSize: { trainImages: 1000 } });
      assert.equal(quick.config.data.name, 'cifar100');
      assert.equal(quick.config.data.root, folder);
      assert.equal(quick.config.data.trainPerClass, 10, '1000 images over 100 classes');
      assert.equal(quick.config.data.valPerClass, 2);
      assert.equal(quick.config.data.testPerClass, 5);
      assert.equal(quick.config.optim.lr, paper.optim.lr, 'the protocol optimiser on its own data');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('summaryRows and summaryFigure report error or accuracy in % beside the paper', () => {
    const runs = [{ name: 'baseline', summary: summary({}) }, { name: 'alignmix', summary: summary({ testAccuracyAtBestVal: NaN, bestTestAccuracy: 0.9 }) }];
    const paper = { reference: 'T', metric: 'error' as const, values: { baseline: 5.19 } };
    const rows = summaryRows(runs, { paper }) as Record<string, unknown>[];
    assert.equal(rows[0]['top-1 error % (test at best val)'], 25);
    assert.ok(Math.abs((rows[0]['top-1 error % (best test)'] as number) - 20) < 1e-12);
    assert.ok(Math.abs((rows[0]['top-1 error % (median last 2)'] as number) - 30) < 1e-12);
    assert.equal(rows[0]['paper: T'], 5.19);
    assert.equal(rows[1]['top-1 error % (test at best val)'], null, 'a run without epochs has no number');
    assert.equal(rows[1]['paper: T'], null);
    const accuracy = summaryRows(runs) as Record<string, unknown>[];
    assert.equal(accuracy[0]['top-1 accuracy % (test at best val)'], 75);
    const fig = summaryFigure(runs, { paper });
    assert.deepEqual(fig.data.map((t) => t.y), [[25, null], [5.19, null]]);
  });

  it('methodRows lists each method\'s schedule, decoder and solver', () => {
    assert.deepEqual(methodRows(['alignmix-authors', 'table5-vae-x-Z']).map((r) => {
      const { description, ...rest } = r as Record<string, unknown>;
      return rest;
    }), [
      { method: 'alignmix-authors', modes: 'input:2 feat:1 featPrime:1', decoder: 'none', latent: 'vector', e: 'gap', sinkhorn: 'reference', plan: 'sinkhorn', source: 'authors\' code' },
      { method: 'table5-vae-x-Z', modes: 'clean:1 input:1 latentAligned:1 latentAlignedPrime:1', decoder: 'vae', latent: 'tensor', e: 'conv', sinkhorn: 'default', plan: 'sinkhorn', source: 'main paper' },
    ]);
  });

  it('PAPER_TABLE1 matches the Gain row printed in Table 1 (best competitor minus AlignMix)', () => {
    const gains: Record<string, number> = {
      'cifar10/preact-resnet18': 0.06, 'cifar10/wrn16-8': -0.16, 'cifar100/preact-resnet18': 1.55, 'cifar100/wrn16-8': 1.14,
      'tinyimagenet/preact-resnet18': 3.12, 'imagenet/resnet50': 2.41,
    };
    for (const [column, gain] of Object.entries(gains)) {
      const { alignmix, ...others } = PAPER_TABLE1[column].values;
      const best = Math.min(...Object.values(others).filter((v): v is number => v !== null));
      assert.ok(Math.abs(best - (alignmix as number) - gain) < 1e-9, `${column}: ${best} - ${alignmix} != ${gain}`);
    }
  });

});
