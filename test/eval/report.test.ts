import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { calibration } from '../../lib/eval/calibration';
import { LocalizationBatch } from '../../lib/eval/cam';
import { auroc, averagePrecision, detectionAccuracy } from '../../lib/eval/ood';
import {
  EvalProgress, evaluateModel, reliabilityToCsv, reportDataFrame, reportToCsv, ReportRow, writeReportCsv,
} from '../../lib/eval/report';
import { CamClassifier, LabeledBatch } from '../../lib/eval/types';
import { LinearClassifier, argmax, randomImages, softmax64, withoutLeaks } from './helpers';

/** Parse simple RFC 4180 CSV (quoted fields with doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  return rows;
}

describe('eval/report: evaluateModel, CSV, DataFrame', () => {
  const n = 20;
  const shape: [number, number, number, number] = [n, 4, 4, 1];
  let model: LinearClassifier;
  let images: tf.Tensor4D;
  let xs: Float32Array;
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % 3);

  before(() => {
    model = LinearClassifier.random(16, 3, 21, 3);
    images = randomImages(shape, 22);
    xs = Float32Array.from(images.dataSync());
  });
  after(() => {
    model.dispose();
    images.dispose();
  });

  /** A one-shot generator of test batches of 6 (the last one short), as a loader would give. */
  function* testBatches(): Generator<LabeledBatch> {
    for (let s = 0; s < n; s += 6) {
      const b = Math.min(6, n - s);
      yield { x: tf.slice(images, [s, 0, 0, 0], [b, -1, -1, -1]), y: tf.tensor1d(labels.slice(s, s + b), 'int32') };
    }
  }

  const image = (i: number) => Array.from(xs.subarray(i * 16, (i + 1) * 16));

  it('top-1, calibration and OOD rows equal float64 references, one pass over a one-shot loader', async () => {
    // OOD dataset: 8x8 images cropped to the 4x4 centre (rows/cols 2..5).
    const big = randomImages([9, 8, 8, 1], 23, 0, 1);
    const bigXs = big.dataSync();
    const progress: EvalProgress[] = [];
    const report = await withoutLeaks(() => evaluateModel(model, testBatches(), {
      parts: ['top1', 'calibration', 'ood'],
      calibration: { bins: 10 },
      ood: { noise: ['uniform'], datasets: [{ name: 'big-crop', data: [{ x: big }], fit: 'crop' }] },
      onProgress: (p) => progress.push(p),
    }));
    assert.ok(!big.isDisposed, 'array sources are not disposed');

    // References in float64 from the linear model's parameters.
    const conf: number[] = [];
    const ok: number[] = [];
    for (let i = 0; i < n; i++) {
      const z = model.logits64(image(i));
      conf.push(Math.max(...softmax64(z)));
      ok.push(argmax(z) === labels[i] ? 1 : 0);
    }
    const value = (metric: string, source = 'test') => {
      const r = report.rows.find((row) => row.metric === metric && row.source === source);
      assert.ok(r, `row ${metric}/${source}`);
      return r.value;
    };
    const errors = ok.filter((v) => v === 0).length;
    assert.ok(Math.abs(value('top1_error') - 100 * errors / n) < 1e-9);
    assert.ok(Math.abs(value('top1_accuracy') - 100 * (n - errors) / n) < 1e-9);
    const cal = calibration(conf, ok, { bins: 10 });
    assert.ok(Math.abs(value('ece') - 100 * cal.ece) < 1e-4);
    assert.ok(Math.abs(value('oe') - 100 * cal.oe) < 1e-4);
    assert.equal(report.calibration!.reliability.length, 10);

    const cropConf: number[] = [];
    for (let i = 0; i < 9; i++) {
      const px: number[] = [];
      for (let r = 2; r < 6; r++) for (let c = 2; c < 6; c++) px.push(bigXs[i * 64 + r * 8 + c]);
      cropConf.push(Math.max(...softmax64(model.logits64(px))));
    }
    assert.ok(Math.abs(value('ood_auroc', 'big-crop') - 100 * auroc(conf, cropConf)) < 1e-6);
    assert.ok(Math.abs(value('ood_aupr_in', 'big-crop') - 100 * averagePrecision(conf, cropConf)) < 1e-6);
    assert.ok(Math.abs(value('ood_aupr_out', 'big-crop') - 100 * averagePrecision(cropConf.map((s) => -s), conf.map((s) => -s))) < 1e-6);
    assert.ok(Math.abs(value('ood_det_acc', 'big-crop') - 100 * detectionAccuracy(conf, cropConf, 0.5)) < 1e-6);
    // The uniform noise set has the test set's count.
    const uniform = report.ood.find((o) => o.source === 'uniform')!;
    assert.equal(uniform.metrics.nOut, n);
    assert.equal(report.rows.filter((r) => r.source === 'uniform').length, 5);
    assert.ok(!report.rows.some((r) => r.metric.startsWith('fgsm') || r.metric.startsWith('pgd')));
    assert.ok(report.rows.every((r) => r.unit === '%'));
    // Progress: 4 test batches (6, 6, 6, 2), then the one OOD batch.
    assert.deepEqual(progress, [
      { stage: 'test', source: 'test', batches: 1 }, { stage: 'test', source: 'test', batches: 2 },
      { stage: 'test', source: 'test', batches: 3 }, { stage: 'test', source: 'test', batches: 4 },
      { stage: 'ood', source: 'big-crop', batches: 1 },
    ]);
    big.dispose();
  });

  it('attack rows equal attackedTopOne-independent float64 FGSM; the report is reproducible from its seed', async () => {
    const run = () => evaluateModel(model, testBatches(), { parts: ['fgsm', 'pgd', 'ood'], pgd: { steps: 3 }, seed: 5 });
    const a = await withoutLeaks(run);
    // FGSM by hand: x' = clip(x + 8/255 sign(W (p - e_y))).
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      const x = image(i);
      const p = softmax64(model.logits64(x));
      p[labels[i]] -= 1;
      const adv = x.map((v, j) => {
        let g = 0;
        for (let k = 0; k < 3; k++) g += model.weights[j * 3 + k] * p[k];
        return Math.min(1, Math.max(0, v + (8 / 255) * Math.sign(g)));
      });
      if (argmax(model.logits64(adv)) !== labels[i]) wrong++;
    }
    const fgsmRow = a.rows.find((r) => r.metric === 'fgsm_top1_error')!;
    assert.ok(Math.abs(fgsmRow.value - 100 * wrong / n) < 1e-9);
    assert.equal(fgsmRow.settings, 'eps=8/255');
    assert.equal(a.rows.find((r) => r.metric === 'pgd_top1_error')!.settings, 'eps=4/255 step=2/255 steps=3 random_start=seed 5');
    const b = await run();
    assert.deepEqual(a.rows, b.rows);
    const c = await evaluateModel(model, testBatches(), { parts: ['ood'], ood: { noise: ['gaussian'] }, seed: 6 });
    const gaussianRows = (rows: ReportRow[]) => rows.filter((r) => r.source === 'gaussian');
    assert.notDeepEqual(gaussianRows(c.rows).map((r) => r.value), gaussianRows(a.rows).map((r) => r.value));
  });

  it('localization part with a CamClassifier and array batches', async () => {
    const cam: CamClassifier = {
      numClasses: 2,
      predictLogits: (x) => tf.tidy(() => tf.matMul(tf.mean(x, [1, 2]), tf.tensor2d([[1, 0], [0, 1]]))) as tf.Tensor2D,
      camInputs: (x) => ({ features: tf.clone(x), weights: tf.tensor2d([[1, 0], [0, 1]]) }),
    };
    const v = new Float32Array(4 * 4 * 2);
    for (let p = 0; p < 16; p++) v[p * 2] = p === 5 || p === 6 ? 1 : 0; // class 0 blob at row 1, cols 1-2
    const x = tf.tensor4d(v, [1, 4, 4, 2]);
    const y = tf.tensor1d([0], 'int32');
    const loc: LocalizationBatch = { x, y, boxes: [[{ x: 1, y: 1, width: 2, height: 1 }]] };
    const r = await evaluateModel(cam, [{ x, y }], { parts: ['top1', 'localization'], localization: { data: [loc] } });
    const row = (m: string) => r.rows.find((rr) => rr.metric === m)!;
    assert.equal(row('wsol_top1_loc').value, 100);
    assert.equal(row('wsol_gt_known_loc').value, 100);
    assert.equal(row('wsol_top1_error').value, 0);
    assert.equal(row('wsol_top1_loc').settings, 'cam_threshold=0.15; iou>=0.5');
    assert.ok(!x.isDisposed);
    tf.dispose([x, y]);
  });

  it('CSV: header, quoting, full precision; reliability CSV with empty cells; written to disk', () => {
    const rows: ReportRow[] = [
      { metric: 'ece', value: 1 / 3, unit: '%', source: 'test', n: 10, settings: 'bins=15' },
      { metric: 'ood_auroc', value: 97.5, unit: '%', source: 'lsun, "crop"', n: 4, settings: 'a\nb' },
    ];
    const csv = reportToCsv(rows);
    assert.equal(csv.split('\n')[0], 'metric,value,unit,source,n,settings');
    assert.deepEqual(parseCsv(csv), [
      ['metric', 'value', 'unit', 'source', 'n', 'settings'],
      ['ece', String(1 / 3), '%', 'test', '10', 'bins=15'],
      ['ood_auroc', '97.5', '%', 'lsun, "crop"', '4', 'a\nb'],
    ]);
    assert.equal(Number(parseCsv(csv)[1][1]), 1 / 3, 'round-trips exactly');
    const rel = reliabilityToCsv(calibration([0.9], [1], { bins: 2 }).reliability);
    assert.deepEqual(parseCsv(rel), [
      ['index', 'lower', 'upper', 'count', 'meanConfidence', 'accuracy', 'gap'],
      ['0', '0', '0.5', '0', '', '', ''],
      ['1', '0.5', '1', '1', '0.9', '1', String(0.9 - 1)],
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-report-'));
    try {
      const file = path.join(dir, 'sub', 'report.csv');
      writeReportCsv(file, rows);
      assert.equal(fs.readFileSync(file, 'utf8'), csv);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reportDataFrame builds a danfojs DataFrame with the report columns (skipped where danfojs cannot load)', function () {
    this.timeout(60000);
    let df: ReturnType<typeof reportDataFrame>;
    const rows: ReportRow[] = [
      { metric: 'top1_error', value: 5, unit: '%', source: 'test', n: 10, settings: '' },
      { metric: 'ece', value: 1.5, unit: '%', source: 'test', n: 10, settings: 'bins=15' },
    ];
    try {
      df = reportDataFrame(rows);
    } catch (e) {
      assert.match(String(e), /reportDataFrame: danfojs-node could not be loaded.*; use reportToCsv instead/);
      this.skip();
    }
    assert.deepEqual(df.columns, ['metric', 'value', 'unit', 'source', 'n', 'settings']);
    assert.deepEqual(df.shape, [2, 6]);
    assert.deepEqual(df['value'].values, [5, 1.5]);
  });

  it('rejects bad options with clear errors before reading the data', async () => {
    const untouched = { [Symbol.iterator]: () => { throw new Error('data was read'); } } as unknown as Iterable<LabeledBatch>;
    const cases: [object, RegExp][] = [
      [{ parts: ['top1', 'speed'] }, /evaluateModel: unknown part 'speed'; expected one of top1, fgsm, pgd, calibration, ood, localization/],
      [{ parts: ['localization'] }, /part 'localization' needs options.localization.data/],
      [{ ood: { noise: ['uniform'], datasets: [{ name: 'uniform', data: [] }] } }, /OOD source name 'uniform' is used twice/],
      [{ ood: { datasets: [{ name: 'x', data: 3 }] } }, /ood.datasets 'x' data must be an iterable or async iterable of batches, got number/],
      [{ calibration: { bins: 0 } }, /calibration.bins must be an integer in 1\.\.inf, got 0/],
      [{ ood: { threshold: NaN } }, /ood.threshold must be in/],
      [{ sead: 1 }, /evaluateModel: unknown option 'sead'/],
    ];
    for (const [options, pattern] of cases) await assert.rejects(evaluateModel(model, untouched, options), pattern);
    await assert.rejects(evaluateModel(model, [], { parts: ['top1'] }), /the test set yielded no batches/);
    await assert.rejects(evaluateModel(model, untouched, { parts: ['localization'], localization: { data: [] } }), /needs a CamClassifier/);
  });
});
