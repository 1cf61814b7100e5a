import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { richBundle } from '../../lib/display/rich';
import { sinkhorn } from '../../lib/ot/sinkhorn';
import { resolveConfig } from '../../lib/train/config';
import type { RunSummary } from '../../lib/train/trainer';

describe('display/rich: library values as cell results', () => {
  it('renders a run summary as a field / value table', () => {
    const summary: RunSummary = {
      protocol: 'cifar100', method: 'alignmix', seed: 1, epochs: 2, bestValAccuracy: 0.625, bestValEpoch: 2,
      testAccuracyAtBestVal: 0.5, bestTestAccuracy: 0.5, bestTestEpoch: 2, medianLastNTestAccuracy: 0.5, lastN: 1,
      finalTestAccuracy: 0.5, trainSeconds: 12.5,
    };
    const bundle = richBundle(summary)!;
    assert.match(bundle['text/html'], /<caption>run summary: alignmix on cifar100<\/caption>/);
    assert.match(bundle['text/html'], /<td>bestValAccuracy<\/td><td[^>]*>0\.625/);
    assert.match(bundle['text/plain'], /^run summary: alignmix on cifar100\n.*trainSeconds: 12\.5/s);
  });

  it("renders a Sinkhorn result by its diagnostics (the solver's own iteration count and verdict)", () => {
    const cost = tf.tensor3d([[[0, 1], [1, 0]]]);
    const result = sinkhorn(cost, { solver: 'log', eps: 0.1, maxIter: 50 });
    try {
      const bundle = richBundle(result)!;
      assert.match(bundle['text/plain'], new RegExp(`iterations: ${result.diagnostics.iterations}\\b`));
      assert.match(bundle['text/plain'], new RegExp(`converged: ${result.diagnostics.converged}\\b`));
      assert.match(bundle['text/html'], /<caption>Sinkhorn diagnostics<\/caption>/);
    } finally {
      result.plan.dispose();
      cost.dispose();
    }
  });

  it('renders a training config by its flattened fields', () => {
    const config = resolveConfig('synthetic', { method: 'alignmix', epochs: 3 });
    const bundle = richBundle(config)!;
    assert.match(bundle['text/html'], /<caption>training config: alignmix on synthetic<\/caption>/);
    assert.match(bundle['text/plain'], /^epochs: 3$/m);
  });

  it('renders a plotly figure and a DataFrame-like, and declines other values', () => {
    const figure = richBundle({ data: [{ type: 'scatter', x: [1, 2], y: [3, 4] }], layout: { title: 'curve' } })!;
    assert.equal(figure['text/plain'], 'plotly figure: 1 trace(s)');
    assert.match(figure['text/html'], /"x":\[1,2\]/);
    const frame = richBundle({ columns: ['a', 'b'], index: [0, 1], values: [[1, 'x'], [2, 'y']], head: () => undefined })!;
    assert.match(frame['text/html'], /<th>a<\/th><th>b<\/th>/);
    assert.match(frame['text/html'], /<td[^>]*>y<\/td>/);
    for (const other of [{ a: 1 }, [1, 2], 'text', 3, null, { data: [] }]) assert.equal(richBundle(other), null);
  });
});
