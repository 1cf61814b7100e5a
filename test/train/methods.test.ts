import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveConfig, validateConfig } from '../../lib/train/config';
import { methodNames, methodSpec } from '../../lib/train/methods';
import { train } from '../../lib/train/trainer';

describe('methods: the arm (second-stage encoder e) and the random-plan controls', function () {
  this.timeout(300000);

  it('each source keeps its e; the suffix -gap | -fc | -flat names the arm and changes nothing else', () => {
    const e = (name: string) => methodSpec(name).embedding;
    assert.equal(e('alignmixup'), 'gap', 'the authors\' code: mix -> average pool -> linear');
    assert.equal(e('alignmix'), 'fc');
    assert.equal(e('table5-ae-x-A-z'), 'fc');
    assert.equal(e('table5-none-x-A'), 'gap');
    assert.equal(e('table5-vae-x-Z'), 'conv');
    for (const name of ['alignmixup', 'table5-ae-x-A-z-unaligned', 'baseline', 'alignmixup-random-plan']) {
      const { embedding, description, ...rest } = methodSpec(`${name}-flat`);
      const { embedding: e0, description: d0, ...rest0 } = methodSpec(name);
      assert.equal(embedding, 'flat');
      assert.notEqual(e0, 'flat');
      assert.deepEqual(rest, rest0, `${name}-flat differs from ${name} only in e`);
    }
    for (const name of methodNames()) assert.ok(methodSpec(name).source, `${name} names its source`);
  });

  it('rejects arms a method cannot have, and unknown names, by name', () => {
    assert.throws(() => methodSpec('table5-ae-x-Z-flat'), /tensor Z.*drop the suffix -flat/);
    assert.throws(() => methodSpec('table5-vae-x-A-gap'), /VAE needs parameters in e/);
    assert.throws(() => methodSpec('alignmixup-conv'), /Unknown method 'alignmixup-conv'/);
    assert.throws(() => methodSpec('nope-flat'), /Unknown method 'nope-flat'/);
  });

  it('the controls: AlignMixup\'s schedule with the plan removed or replaced', () => {
    const modes = methodSpec('alignmixup').modes;
    assert.deepEqual(methodSpec('alignmixup-random-plan').modes, modes);
    assert.deepEqual(methodSpec('alignmixup-random-permutation').modes, modes);
    assert.equal(methodSpec('alignmixup-random-plan').plan, 'random-plan');
    assert.equal(methodSpec('alignmixup-random-permutation').plan, 'random-permutation');
    assert.equal(methodSpec('alignmixup').plan, 'sinkhorn');
    // Same share of feature-level batches (2/3) as AlignMixup, unaligned.
    assert.deepEqual(methodSpec('alignmixup-unaligned').modes, [{ mode: 'input', weight: 1 }, { mode: 'featPlain', weight: 2 }]);
  });

  it('resolveConfig writes the method\'s e into config.model.embedding; a contradicting value is an error naming the key', () => {
    assert.equal(resolveConfig('synthetic', { method: 'alignmixup-flat' }).model.embedding, 'flat');
    assert.equal(resolveConfig('synthetic', { method: 'table5-ae-x-A' }).model.embedding, 'fc');
    assert.equal(resolveConfig('synthetic', { method: 'alignmixup', model: { embedding: 'gap' } }).model.embedding, 'gap');
    assert.throws(() => resolveConfig('synthetic', { method: 'alignmixup', model: { embedding: 'flat' } }),
      /config\.model\.embedding is 'flat' but method 'alignmixup' trains with e = 'gap'.*'alignmixup-flat'/);
    const cfg = resolveConfig('synthetic', { method: 'alignmixup-flat' });
    assert.throws(() => validateConfig({ ...cfg, model: { ...cfg.model, embedding: 'fc' } }), /config\.model\.embedding/);
  });

  it('trains the random-permutation control with a flat e, reproducibly (the plan comes from the seeded step stream)', async () => {
    const cfg = resolveConfig('synthetic', {
      method: 'alignmixup-random-permutation-flat', epochs: 1, batchSize: 16, logBatches: true, modes: [{ mode: 'feat', weight: 1 }, { mode: 'featPrime', weight: 1 }],
      data: { trainPerClass: 16, valPerClass: 4, testPerClass: 4, workers: 0 },
    });
    const run = async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-methods-'));
      const res = await train(cfg, { runDir: dir });
      const kind = res.model.embeddingKind;
      const w = res.model.stateDict();
      const values = Object.fromEntries(Object.entries(w).map(([k, t]) => [k, Array.from(t.dataSync())]));
      Object.values(w).forEach((t) => t.dispose());
      res.model.dispose();
      const log = fs.readFileSync(path.join(dir, 'batches.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      return { kind, values, log };
    };
    const first = await run();
    const second = await run();
    assert.equal(first.kind, 'flat');
    assert.ok(first.log.length > 0 && first.log.every((b: { mode: string; sinkhorn?: unknown }) => b.mode.startsWith('feat') && b.sinkhorn === undefined),
      'aligned batches ran, without a Sinkhorn solve');
    assert.deepEqual(second.values, first.values);
  });
});
