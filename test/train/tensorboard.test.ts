import { strict as assert } from 'assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assembleBatch } from '../../lib/data/batch';
import { crc32 } from '../../lib/data/zip';
import { resolveConfig, TrainConfig } from '../../lib/train/config';
import { loadTrainData } from '../../lib/train/data';
import { MIX_MODES } from '../../lib/train/modes';
import { crc32c, maskedCrc32c } from '../../lib/train/tensorboard';
import { train } from '../../lib/train/trainer';
import { Rng } from '../../lib/random';

const REPO = path.resolve(__dirname, '..', '..');
const VENV_PYTHON = path.join(process.env.ALIGNMIX_VENV ?? path.join(REPO, '.venv'), 'bin', 'python');

/** The project venv's Python when it has TensorBoard (npm run setup:jupyter), else null. */
function tensorboardPython(): string | null {
  return fs.existsSync(VENV_PYTHON) && cp.spawnSync(VENV_PYTHON, ['-c', 'import tensorboard, PIL']).status === 0 ? VENV_PYTHON : null;
}

type Scalars = Record<string, [number, number | null][]>;
interface Read {
  records: { file: string; events: { step: number; what: string; file_version?: string; status?: number; tags?: string[] }[] }[];
  scalars: Scalars;
  images: Record<string, [number, number, number, [number, number], string, string][]>;
  descriptions: Record<string, string>;
}

/** float32 rounding (TensorBoard's simple_value), NaN as JSON null. */
const f32 = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? null : Math.fround(v));

describe('tensorboard event files', function () {
  this.timeout(300000);

  it('CRC-32C gives the published check values (masked as TFRecord masks them)', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    // RFC 3720, B.4: 32 bytes of zeros, of ones, and 0x00..0x1f.
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    // The same table code with the IEEE polynomial (zip): its published check value.
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    const c = 0xe3069283;
    assert.equal(maskedCrc32c(Buffer.from('123456789')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32);
  });

  it("a run's tb/ folder, across a mid-epoch stop and resume, reads back in TensorBoard with the logged numbers", async function () {
    const python = tensorboardPython();
    if (!python) {
      const why = `TensorBoard is not installed in ${VENV_PYTHON}: run \`npm run setup:jupyter\` (CI does) to run this test`;
      if (process.env.ALIGNMIX_REQUIRE_TENSORBOARD) assert.fail(why);
      console.warn(`\n  !!! SKIPPED: ${why}\n`);
      this.skip();
    }
    const cfg: TrainConfig = resolveConfig('synthetic', {
      method: 'alignmixup-ae', epochs: 3, data: { trainPerClass: 24, valPerClass: 8, testPerClass: 8, workers: 0 }, batchSize: 16, logBatches: true,
    } as Parameters<typeof resolveConfig>[1]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-tb-'));
    const controller = new AbortController();
    const first = await train(cfg, {
      runDir: dir, signal: controller.signal, callbacks: { onBatch: (e) => { if (e.epoch === 2 && e.batch === 3) controller.abort(); } },
    });
    first.model.dispose();
    const run = await train(cfg, { runDir: dir, resume: true });
    run.model.dispose();
    const batchesPerEpoch = 6;

    const data = await loadTrainData(cfg.data);
    const [h, w, c] = data.val.imageShape;
    const out = cp.spawnSync(python as string, [path.join(__dirname, 'read-tensorboard.py'), path.join(dir, 'tb'), String(h)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(out.status, 0, out.stderr);
    const read: Read = JSON.parse(out.stdout);

    // Two files (one per process); each starts with the version record; the resumed one marks its
    // restart at the first batch it runs (6 + 3 + 1).
    assert.equal(read.records.length, 2);
    for (const r of read.records) assert.deepEqual(r.events[0], { step: 0, what: 'file_version', file_version: 'brain.Event:2' });
    assert.deepEqual(read.records[1].events[1], { step: batchesPerEpoch + 3 + 1, what: 'session_log', status: 1 });

    // Batch tags: exactly the lines of batches.jsonl, at global batch numbers.
    const lines = fs.readFileSync(path.join(dir, 'batches.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3 * batchesPerEpoch);
    const expected: Scalars = {};
    const put = (tag: string, step: number, v: number | null | undefined) => {
      if (v === undefined) return;
      (expected[tag] ??= []).push([step, f32(v)]);
    };
    for (const l of lines) {
      const step = (l.epoch - 1) * batchesPerEpoch + l.batch;
      for (const [term, v] of Object.entries(l.losses)) put(`batch/loss/${term}`, step, v as number);
      put('batch/lr', step, l.lr);
      put('batch/lambda', step, l.lambda);
      put('batch/target_weight', step, l.targetWeight);
      put('batch/mode', step, MIX_MODES.indexOf(l.mode));
      if (l.sinkhorn) {
        put('batch/sinkhorn/iterations', step, l.sinkhorn.iterations);
        put('batch/sinkhorn/row_error', step, l.sinkhorn.rowError);
        put('batch/sinkhorn/col_error', step, l.sinkhorn.colError);
      }
    }
    assert.ok(expected['batch/sinkhorn/iterations']?.length, 'some batches were aligned');
    // Epoch tags: the epoch records (metrics.csv holds the same numbers to 6 digits).
    const csv = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const column = (name: string) => csv.slice(1).map((row) => Number(row[csv[0].indexOf(name)]));
    assert.equal(run.history.length, 3);
    run.history.forEach((r, i) => {
      put('epoch/train_loss', r.epoch, r.trainLoss);
      put('epoch/val_accuracy', r.epoch, r.valAccuracy);
      put('epoch/test_accuracy', r.epoch, r.testAccuracy);
      put('epoch/lr', r.epoch, r.lr);
      put('epoch/images_per_second', r.epoch, r.imagesPerSecond);
      put('epoch/sinkhorn_row_error', r.epoch, r.sinkhornRowError);
      for (const m of r.modes.split(' ')) put(`epoch/mode_batches/${m.split(':')[0]}`, r.epoch, Number(m.split(':')[1]));
      assert.ok(Math.abs(column('trainLoss')[i] - r.trainLoss) <= 1e-5 * Math.abs(r.trainLoss), 'metrics.csv agrees');
      assert.equal(column('valAccuracy')[i], Number(r.valAccuracy.toPrecision(6)));
    });
    const sortByTag = (s: Scalars) => Object.fromEntries(Object.entries(s).sort(([a], [b]) => a.localeCompare(b)));
    assert.deepEqual(sortByTag(read.scalars), sortByTag(expected));
    assert.match(read.descriptions['batch/mode'], /0 clean, 1 input/);

    // The interpolation grid: one per epoch, 4 rows of x_a, 8 decodings, x_b; the first tile is
    // validation image 0.
    const grids = read.images.interpolation;
    assert.deepEqual(grids.map((g) => g[0]), [1, 2, 3]);
    const width = 10 * (w + 2) - 2;
    const height = 4 * (h + 2) - 2;
    for (const g of grids) assert.deepEqual(g.slice(1, 5), [width, height, [width, height], 'RGBA']);
    const { x } = await assembleBatch(data.val.source, { indices: Int32Array.of(0), rngState: new Rng(0).getState(), transform: data.val.transforms.eval, shape: data.val.imageShape });
    const tile = Buffer.from(grids[0][5], 'base64');
    for (let p = 0; p < h * w; p++) {
      for (let ch = 0; ch < 3; ch++) assert.equal(tile[4 * p + ch], Math.round(255 * x[p * c + (c === 3 ? ch : 0)]), `pixel ${p} channel ${ch}`);
      assert.equal(tile[4 * p + 3], 255);
    }
  });
});
