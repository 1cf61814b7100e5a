import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as vm from 'vm';
import * as zlib from 'zlib';
import { escapeHtml, scriptJson } from '../../lib/display/html';
import { inKernel } from '../../lib/display/kernel';
import { figureHtml, loadPlotly, plotlyBundleHtml, plotlyLoaderHtml, showFigure } from '../../lib/display/plotly';
import { runFigureScript, splitFigureHtml } from './figure-script';

const NASTY = 'acc </script><script>alert(1)</script> <!-- & \u2028 "quoted" \'single\'';

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function recorder(): { html(s: string): void; outputs: string[] } {
  const outputs: string[] = [];
  return { html: (s: string) => void outputs.push(s), outputs };
}

/** Run a loader script on a fake page whose `window` is the vm global; scripts it inserts run there. */
function runLoader(html: string, page: vm.Context): void {
  const script = /^<script>([\s\S]*)<\/script>$/.exec(html);
  assert.ok(script, 'the loader is a single <script> element');
  vm.runInContext(script[1], page);
}

function fakePage(): vm.Context {
  const page = vm.createContext({ atob, Blob, Response, DecompressionStream });
  page.window = page;
  page.document = {
    head: { appendChild: (el: { textContent: string }) => vm.runInContext(el.textContent, page) },
    createElement: () => ({ textContent: '' }),
  };
  return page;
}

describe('display: html escaping', () => {
  it('escapeHtml escapes the five HTML metacharacters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('scriptJson round-trips through JSON.parse and never contains <, >, & or line separators raw', () => {
    const value = { title: NASTY, nested: [NASTY, { k: '\u2029' }] };
    const json = scriptJson(value);
    assert.deepEqual(JSON.parse(json), value);
    assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
  });

  it('scriptJson writes typed arrays as arrays and non-finite numbers as null', () => {
    assert.equal(scriptJson({ y: new Float32Array([0.5, 2]), z: [NaN, Infinity, 1] }), '{"y":[0.5,2],"z":[null,null,1]}');
  });
});

describe('display: plotly figures', () => {
  it('runs outside a kernel under mocha', () => {
    assert.equal(inKernel(), false);
  });

  it('a figure hands its exact data, layout and merged config to Plotly.newPlot', async () => {
    const figure = {
      data: [{ type: 'scatter', x: [1, 2, 3], y: new Float64Array([0.5, 0.25, 0.125]), name: NASTY }],
      layout: { title: { text: NASTY }, height: 300 },
      config: { displaylogo: true, scrollZoom: true },
    };
    const html = figureHtml(figure);
    const { call, text } = await runFigureScript(html);
    assert.ok(call, 'newPlot was called');
    assert.equal(text, '', 'the placeholder text is cleared before plotting');
    assert.deepEqual(call.data, [{ type: 'scatter', x: [1, 2, 3], y: [0.5, 0.25, 0.125], name: NASTY }]);
    assert.deepEqual(call.layout, { title: { text: NASTY }, height: 300 });
    assert.deepEqual(call.config, { responsive: true, displaylogo: true, scrollZoom: true });
    assert.match(html, /height:300px/);
  });

  it('animation frames go to Plotly.addFrames after newPlot; no frames, no call', async () => {
    const frames = [
      { name: 'λ = 0', data: [{ x: [0, 1], y: [1, 0] }] },
      { name: 'λ = 1', data: [{ x: [1, 2], y: [0, 1] }], layout: { title: { text: NASTY } } },
    ];
    const animated = await runFigureScript(figureHtml({ data: [{ x: [0, 1], y: [1, 0] }], frames }));
    assert.ok(animated.call);
    assert.deepEqual(animated.call.frames, frames);
    const still = await runFigureScript(figureHtml({ data: [{ y: [1] }] }));
    assert.ok(still.call);
    assert.equal(still.call.frames, null, 'addFrames is not called for a figure without frames');
    assert.throws(() => figureHtml({ data: [], frames: {} as never }), /figureHtml: figure\.frames must be an array of frames, got object/);
  });

  it('user text cannot close the script element or open a comment in it', () => {
    const html = figureHtml({ data: [{ name: NASTY }], layout: { title: NASTY } });
    assert.equal(count(html.toLowerCase(), '</script'), 1, 'only the closing tag of the figure script');
    assert.equal(count(html, '<!--'), 0);
    assert.equal(count(html, '<script'), 1);
  });

  it('without the bundle on the page the placeholder stays and says how to fix it', async () => {
    const { call, text } = await runFigureScript(figureHtml({ data: [] }), false);
    assert.equal(call, null);
    assert.match(text, /plotly\.js is not loaded/);
    assert.match(text, /loadPlotly\(\)/);
  });

  it('figures get distinct element ids', () => {
    const ids = new Set(Array.from({ length: 5 }, () => splitFigureHtml(figureHtml({ data: [] })).id));
    assert.equal(ids.size, 5);
  });

  it('rejects a figure without a data array and a bad height', () => {
    assert.throws(() => figureHtml({} as never), /figureHtml: figure\.data must be an array/);
    assert.throws(() => figureHtml({ data: [] }, { height: -1 }), /figureHtml: height must be a number > 0, got -1/);
  });

  it('the bundle is in the loadPlotly output, never in a figure', () => {
    const out = recorder();
    loadPlotly(out);
    showFigure({ data: [{ y: [1, 2] }] }, { display: out });
    assert.equal(out.outputs.length, 2);
    const [bundle, figure] = out.outputs;
    assert.ok(bundle.includes('"H4sI'), 'gzip + base64 payload present in the bundle output');
    assert.ok(!figure.includes('H4sI') && !figure.includes('DecompressionStream'), 'no bundle in the figure');
    assert.ok(figure.length < 4000, `figure is small (${figure.length} chars)`);
  });

  it('the bundle payload decodes to the installed plotly.js byte for byte', () => {
    const html = plotlyBundleHtml();
    const payload = /var payload = "([A-Za-z0-9+/=]+)";/.exec(html);
    assert.ok(payload);
    const decoded = zlib.gunzipSync(Buffer.from(payload[1], 'base64'));
    assert.ok(decoded.equals(fs.readFileSync(require.resolve('plotly.js-dist'))));
    assert.equal(count(html, '<script'), 1);
    assert.equal(count(html, '</script'), 1);
    assert.ok(html.length < 3_000_000, `bundle output ${html.length} chars`);
  });

  it('the loader evaluates the bundle once per page and resolves to window.Plotly', async () => {
    const source = 'window.loads = (window.loads || 0) + 1; window.Plotly = { tag: "fake </script><!--" };';
    const html = plotlyLoaderHtml(source);
    const page = fakePage();
    runLoader(html, page);
    const first = page.alignmixPlotly;
    assert.deepEqual(JSON.parse(JSON.stringify(await first)), { tag: 'fake </script><!--' });
    runLoader(html, page); // the setup cell re-run on the same page
    assert.equal(page.alignmixPlotly, first);
    assert.equal(page.loads, 1);
  });

  it('the loader rejects when the bundle does not define window.Plotly', async () => {
    const page = fakePage();
    runLoader(plotlyLoaderHtml('window.somethingElse = 1;'), page);
    await assert.rejects(page.alignmixPlotly, /did not define window\.Plotly/);
  });

  it('outside a kernel loadPlotly is silent and showFigure prints one line', () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      loadPlotly();
      showFigure({ data: [{ y: [1] }, { y: [2] }], layout: { title: { text: 'loss' } } });
    } finally {
      console.log = original;
    }
    assert.deepEqual(lines, ['[figure "loss": 2 traces]']);
  });
});
