import { strict as assert } from 'assert';
import { LiveCurves } from '../../lib/display/progress';
import { runFigureScript } from './figure-script';

interface Trace {
  name: string;
  x: number[];
  y: (number | null)[];
  xaxis: string;
  yaxis: string;
}

/** A clock the test moves by hand, and a display that records what was drawn. */
function harness() {
  let now = 0;
  const drawn: string[] = [];
  return {
    setTime: (t: number) => void (now = t),
    now: () => now,
    display: { html: (s: string) => void drawn.push(s) },
    drawn,
  };
}

async function tracesOf(html: string): Promise<{ data: Trace[]; layout: Record<string, unknown> }> {
  const { call } = await runFigureScript(html);
  assert.ok(call);
  return { data: call.data as Trace[], layout: call.layout as Record<string, unknown> };
}

describe('display: live training curves', () => {
  it('draws at most once per interval, and finish() draws the last state only if undrawn', async () => {
    const h = harness();
    const curves = new LiveCurves({ minIntervalMs: 1000, now: h.now, display: h.display });
    const times = [0, 500, 999, 1000, 1200, 2500];
    for (const [i, t] of times.entries()) {
      h.setTime(t);
      await curves.update(i, { loss: 1 / (i + 1) });
    }
    assert.equal(h.drawn.length, 3, 'draws at t = 0, 1000, 2500');
    curves.finish();
    assert.equal(h.drawn.length, 3, 'nothing new to draw');
    h.setTime(2600);
    await curves.update(6, { loss: 0.1 });
    curves.finish();
    assert.equal(h.drawn.length, 4);
    const { data } = await tracesOf(h.drawn[3]);
    assert.deepEqual(data.map((t) => [t.name, t.x, t.y]), [['loss', [0, 1, 2, 3, 4, 5, 6], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 0.1]]]);
  });

  it('metrics recorded at different x land in their panels; NaN is drawn as a gap', async () => {
    const h = harness();
    const curves = new LiveCurves({
      minIntervalMs: 0,
      now: h.now,
      display: h.display,
      xTitle: 'epoch',
      panels: [{ title: 'loss', metrics: ['train loss'] }, { title: 'accuracy', metrics: ['train acc', 'test acc'] }],
    });
    await curves.update(1, { 'train loss': 2, 'train acc': 0.3 });
    await curves.update(2, { 'train loss': NaN, 'train acc': 0.5, 'test acc': 0.45 });
    const { data, layout } = await tracesOf(h.drawn[h.drawn.length - 1]);
    assert.deepEqual(
      data.map((t) => [t.name, t.x, t.y, t.xaxis, t.yaxis]),
      [
        ['train loss', [1, 2], [2, null], 'x', 'y'],
        ['train acc', [1, 2], [0.3, 0.5], 'x2', 'y2'],
        ['test acc', [2], [0.45], 'x2', 'y2'],
      ],
    );
    assert.deepEqual(layout.grid, { rows: 1, columns: 2, pattern: 'independent' });
    assert.deepEqual(layout.xaxis2, { title: { text: 'epoch' } });
    assert.deepEqual(layout.yaxis2, { title: { text: 'accuracy' } });
    assert.ok(Number.isNaN(curves.history('train loss').y[1]));
  });

  it('prints a plain progress line per draw without a display', async () => {
    const lines: string[] = [];
    let now = 0;
    const curves = new LiveCurves({ display: null, write: (l) => void lines.push(l), now: () => now, minIntervalMs: 10 });
    await curves.update(1, { loss: 0.5, acc: 0.25 });
    now = 5;
    await curves.update(2, { loss: 0.25, acc: 1 });
    curves.finish();
    assert.deepEqual(lines, ['step 1  loss 0.5000  acc 0.2500', 'step 2  loss 0.2500  acc 1']);
  });

  it('rejects unknown options, metrics outside the panels, repeated metrics and bad values', () => {
    assert.throws(() => new LiveCurves({ interval: 5 } as never), /LiveCurves: unknown option 'interval'/);
    assert.throws(() => new LiveCurves({ panels: [{ title: 'a', metrics: ['m'] }, { title: 'b', metrics: ['m'] }] }), /lists metric 'm' more than once/);
    const curves = new LiveCurves({ display: null, write: () => undefined, panels: [{ title: 'a', metrics: ['m'] }] });
    assert.throws(() => curves.update(0, { other: 1 }), /LiveCurves\.update: metric 'other' is in none of options\.panels/);
    assert.throws(() => curves.update(NaN, { m: 1 }), /x must be a finite number, got NaN/);
    assert.throws(() => curves.update(0, { m: '1' as never }), /values\['m'\] must be a number, got string/);
  });
});
