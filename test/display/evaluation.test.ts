import { strict as assert } from 'assert';
import { reliabilityFigure, reportComparisonRows } from '../../lib/display/evaluation';
import { calibration } from '../../lib/eval/calibration';
import type { ReportRow } from '../../lib/eval/report';

const row = (metric: string, source: string, value: number): ReportRow => ({ metric, source, value, unit: '%', n: 10, settings: '' });

describe('display: evaluation views', () => {
  it('reliabilityFigure draws each bin\'s accuracy over its confidence range, with ECE and OE in the panel title', () => {
    // 4 predictions, 2 bins: confidences 0.2, 0.4 (bin 0: 1 of 2 correct), 0.9, 0.7 (bin 1: 2 of 2 correct).
    const result = calibration([0.2, 0.4, 0.9, 0.7], [true, false, true, true], { bins: 2 });
    // Hand-computed: bin 0 conf 0.3 acc 0.5; bin 1 conf 0.8 acc 1. ECE = 0.5*0.2 + 0.5*0.2 = 0.2; OE = 0 (no bin overconfident).
    assert.ok(Math.abs(result.ece - 0.2) < 1e-12);
    const fig = reliabilityFigure([{ name: 'a', calibration: result }, { name: 'b', calibration: result }]);
    const bars = fig.data.filter((t) => t.type === 'bar');
    assert.equal(bars.length, 2);
    assert.deepEqual(bars[0].x, [0.25, 0.75]);
    assert.deepEqual(bars[0].y, [0.5, 1]);
    assert.deepEqual(bars[0].width, [0.5, 0.5]);
    assert.deepEqual([bars[0].xaxis, bars[1].xaxis], ['x', 'x2']);
    const notes = (fig.layout!.annotations as { text: string }[]).map((a) => a.text);
    assert.deepEqual(notes, ['a<br>ECE 20.00 · OE 0.00', 'b<br>ECE 20.00 · OE 0.00']);
    assert.throws(() => reliabilityFigure([]), /reliabilityFigure: runs must hold at least one/);
  });

  it('reportComparisonRows pivots report rows to one row per (metric, source) and one column per model', () => {
    const a = [row('top1_error', 'test', 10), row('ood_auroc', 'uniform', 70), row('ece', 'test', 5)];
    const b = [row('ece', 'test', 4), row('ood_auroc', 'uniform', 80), row('ood_auroc', 'gaussian', 60)];
    assert.deepEqual(reportComparisonRows([{ name: 'A', rows: a }, { name: 'B', rows: b }], ['ece', 'ood_auroc']), [
      { metric: 'ece', source: 'test', A: 5, B: 4 },
      { metric: 'ood_auroc', source: 'uniform', A: 70, B: 80 },
      { metric: 'ood_auroc', source: 'gaussian', A: null, B: 60 },
    ]);
    assert.equal(reportComparisonRows([{ name: 'A', rows: a }]).length, 3, 'every metric without a filter');
  });
});
