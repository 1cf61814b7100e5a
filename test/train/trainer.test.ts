import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '../../lib/train/checkpoint';
import { resolveConfig, TrainConfig } from '../../lib/train/config';
import { loadRunModel, summarize, train, EpochRecord } from '../../lib/train/trainer';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-train-'));
}

/** A seconds-long AlignMixup/AE run on synthetic shapes: every aligned mode, a decoder, 3 epochs. */
function quickConfig(extra: Partial<TrainConfig> = {}): TrainConfig {
  return resolveConfig('synthetic', {
    method: 'alignmixup-ae', epochs: 3, schedule: { milestones: [2], gamma: 0.1 },
    data: { trainPerClass: 24, valPerClass: 8, testPerClass: 8, workers: 0 }, batchSize: 16, logBatches: true,
    ...extra,
  } as Parameters<typeof resolveConfig>[1]);
}

function weights(file: string): Map<string, Float32Array> {
  const { tensors } = loadCheckpoint(file);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(tensors)) out.set(k, t.dataSync() as Float32Array);
  tf.dispose(Object.values(tensors));
  return out;
}

describe('trainer', function () {
  this.timeout(300000);

  it('writes a run directory: config, metrics per epoch, per-batch log, best/last checkpoints, summary', async () => {
    const dir = tmpDir();
    const cfg = quickConfig();
    const epochs: EpochRecord[] = [];
    const res = await train(cfg, { runDir: dir, callbacks: { onEpoch: (r) => epochs.push(r) } });
    res.model.dispose();
    assert.equal(res.status, 'completed');
    for (const f of ['config.json', 'metrics.csv', 'batches.jsonl', 'last.ckpt', 'best.ckpt', 'summary.json']) {
      assert.ok(fs.existsSync(path.join(dir, f)), f);
    }
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(saved.config, cfg);
    assert.ok(saved.backend.name, 'the backend is recorded');
    const csv = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + 3);
    const batches = fs.readFileSync(path.join(dir, 'batches.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(batches.length, 3 * Math.floor((4 * 24) / 16));
    for (const b of batches) {
      assert.ok(['clean', 'input', 'feat', 'featPrime'].includes(b.mode));
      if (b.mode === 'feat' || b.mode === 'featPrime') assert.ok(b.sinkhorn.iterations > 0 && Number.isFinite(b.sinkhorn.rowError));
      if (b.mode === 'clean') assert.ok(b.losses.reconstruction > 0);
    }
    // The schedule: x0.1 from epoch 3 (milestone 2).
    [0.05, 0.05, 0.005].forEach((lr, i) => assert.ok(Math.abs(epochs[i].lr - lr) < 1e-12, `epoch ${i + 1} lr ${epochs[i].lr}`));
    // The summary agrees with the history it came from.
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.deepEqual(summary, summarize(cfg, res.history, summary.trainSeconds));
    assert.ok(summary.bestTestAccuracy >= summary.finalTestAccuracy);
    // best.ckpt holds the weights of the best validation epoch.
    const best = loadCheckpoint<{ epochsDone: number }>(path.join(dir, 'best.ckpt'));
    assert.equal(best.meta.epochsDone, summary.bestValEpoch);
    tf.dispose(Object.values(best.tensors));
  });

  it('learns: accuracy on synthetic shapes is well above chance after a short run', async () => {
    const dir = tmpDir();
    const cfg = quickConfig({ method: 'baseline', epochs: 8 });
    const res = await train({ ...cfg, data: { ...cfg.data, trainPerClass: 64 } }, { runDir: dir });
    res.model.dispose();
    assert.ok(res.summary.bestValAccuracy > 0.5, `val accuracy ${res.summary.bestValAccuracy} (chance 0.25)`);
  });

  it('resumes exactly: stop after epoch 1 + resume ends with the same weights as an uninterrupted run', async () => {
    const cfg = quickConfig();
    const full = tmpDir();
    (await train(cfg, { runDir: full })).model.dispose();

    const split = tmpDir();
    const controller = new AbortController();
    const first = await train(cfg, { runDir: split, signal: controller.signal, callbacks: { onEpoch: () => controller.abort() } });
    first.model.dispose();
    assert.equal(first.status, 'aborted');
    assert.equal(first.history.length, 1);
    await assert.rejects(train(cfg, { runDir: split }), /already holds a run/);
    const resumed = await train(cfg, { runDir: split, resume: true });
    resumed.model.dispose();
    assert.equal(resumed.history.length, 3);

    const a = weights(path.join(full, 'last.ckpt'));
    const b = weights(path.join(split, 'last.ckpt'));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, v] of a) assert.deepEqual(b.get(k), v, `tensor ${k} differs after resume`);
    assert.equal(fs.readFileSync(path.join(full, 'batches.jsonl'), 'utf8').split('\n').length,
      fs.readFileSync(path.join(split, 'batches.jsonl'), 'utf8').split('\n').length, 'no duplicated batch log lines');
  });

  it('resumes exactly from a stop inside an epoch: same weights and the same epoch records as an uninterrupted run', async () => {
    const cfg = quickConfig();
    const full = tmpDir();
    const whole = await train(cfg, { runDir: full });
    whole.model.dispose();

    // Abort during batch 2 of epoch 2 (6 batches per epoch): the run stops after that batch.
    const split = tmpDir();
    const controller = new AbortController();
    const first = await train(cfg, {
      runDir: split, signal: controller.signal,
      callbacks: { onBatch: (e) => { if (e.epoch === 2 && e.batch === 2) controller.abort(); } },
    });
    first.model.dispose();
    assert.equal(first.status, 'aborted');
    assert.equal(first.history.length, 1);
    const mid = loadCheckpoint<{ epochsDone: number; partialEpoch?: { batches: number }; loader: { epoch: number; batch: number } }>(path.join(split, 'last.ckpt'));
    tf.dispose(Object.values(mid.tensors));
    assert.equal(mid.meta.epochsDone, 1);
    assert.equal(mid.meta.partialEpoch?.batches, 2);
    assert.deepEqual([mid.meta.loader.epoch, mid.meta.loader.batch], [1, 2], 'the loader resumes at epoch 2 (index 1), batch 3 (index 2)');
    const best = loadCheckpoint<{ epochsDone: number }>(path.join(split, 'best.ckpt'));
    tf.dispose(Object.values(best.tensors));
    assert.equal(best.meta.epochsDone, 1, 'best.ckpt is only written at epoch ends');

    const resumed = await train(cfg, { runDir: split, resume: true });
    resumed.model.dispose();
    const a = weights(path.join(full, 'last.ckpt'));
    const b = weights(path.join(split, 'last.ckpt'));
    for (const [k, v] of a) assert.deepEqual(b.get(k), v, `tensor ${k} differs after a mid-epoch resume`);
    const timeless = (h: EpochRecord[]) => h.map(({ seconds, imagesPerSecond, ...r }) => r);
    assert.deepEqual(timeless(resumed.history), timeless(whole.history));
    assert.equal(fs.readFileSync(path.join(split, 'batches.jsonl'), 'utf8'), fs.readFileSync(path.join(full, 'batches.jsonl'), 'utf8'),
      'the per-batch log is the uninterrupted one');
  });

  it('a real process signal stops the run at the next batch, also with in-thread data loading', async () => {
    // Signal listeners run from the event loop; the training loop must give it a turn per batch.
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.on('SIGUSR2', onSignal);
    try {
      const res = await train(quickConfig({ epochs: 2 }), {
        runDir: tmpDir(), signal: controller.signal,
        callbacks: { onBatch: (e) => { if (e.epoch === 1 && e.batch === 2) process.kill(process.pid, 'SIGUSR2'); } },
      });
      res.model.dispose();
      assert.equal(res.status, 'aborted');
      const ckpt = loadCheckpoint<{ partialEpoch?: { batches: number } }>(path.join(res.runDir, 'last.ckpt'));
      tf.dispose(Object.values(ckpt.tensors));
      assert.ok((ckpt.meta.partialEpoch?.batches ?? 99) <= 3, `stopped after batch ${ckpt.meta.partialEpoch?.batches} of 6`);
    } finally {
      process.removeListener('SIGUSR2', onSignal);
    }
  });

  it('stops on a non-finite loss with a clear message and keeps the last good checkpoint', async () => {
    const dir = tmpDir();
    const cfg = quickConfig({ method: 'baseline', epochs: 3 });
    let model: import('../../lib/models/model').AlignMixModel | undefined;
    // Simulate a divergence after epoch 1: one weight becomes NaN.
    const poison = () => {
      const [, w] = model!.namedParameters()[0];
      w.assign(tf.fill(w.shape, NaN));
    };
    await assert.rejects(
      train(cfg, { runDir: dir, callbacks: { onStart: (i) => { model = i.model; }, onEpoch: poison } }),
      (e: Error) => /training stopped at epoch 2, batch 1: loss is NaN .*last good checkpoint is .*last\.ckpt \(after epoch 1\)/.test(e.message),
    );
    const kept = loadCheckpoint<{ epochsDone: number }>(path.join(dir, 'last.ckpt'));
    assert.equal(kept.meta.epochsDone, 1);
    for (const [k, t] of Object.entries(kept.tensors)) assert.ok(tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0]), `${k} is finite`);
    tf.dispose(Object.values(kept.tensors));
  });

  it('rebuilds the model of a run from its directory (best checkpoint)', async () => {
    const dir = tmpDir();
    const res = await train(quickConfig({ epochs: 1 }), { runDir: dir });
    const { model } = await loadRunModel(dir, 'last');
    const x = tf.randomUniform([2, 16, 16, 3]) as tf.Tensor4D;
    const a = res.model.predictLogits(x);
    const b = model.predictLogits(x);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    tf.dispose([x, a, b]);
    model.dispose();
    res.model.dispose();
  });

  it('rejects unknown config keys and bad values before training', () => {
    assert.throws(() => resolveConfig('synthetic', { epochz: 3 } as never), /unknown option 'epochz'/);
    assert.throws(() => resolveConfig('synthetic', { optim: { lr: -1 } }), /lr must be a finite number > 0/);
    assert.throws(() => resolveConfig('nope'), /Unknown protocol 'nope'/);
    assert.throws(() => resolveConfig('synthetic', { method: 'mixup9000' }), /Unknown method 'mixup9000'/);
  });
});
