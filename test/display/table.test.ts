import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { dataFrameToHtml, formatCells, loadDanfo, rowsToHtml, showTable } from '../../lib/display/table';

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'" };
const unescape = (s: string) => s.replace(/&(lt|gt|amp|quot|#39);/g, (e) => ENTITIES[e]);

/** Header cells and body rows of an HTML table, unescaped (an independent reading of the markup). */
function parseTable(html: string): { head: string[]; body: string[][]; caption: string | null } {
  const cells = (row: string, tag: string) => [...row.matchAll(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`, 'g'))].map((m) => unescape(m[1]));
  const head = /<thead>([\s\S]*)<\/thead>/.exec(html);
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(html);
  const caption = /<caption>([^<]*)<\/caption>/.exec(html);
  return {
    head: cells(head ? head[1] : '', 'th'),
    body: [...(body ? body[1] : '').matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => cells(m[1], 'td')),
    caption: caption ? unescape(caption[1]) : null,
  };
}

describe('display: tables', () => {
  const rows = [
    { method: 'AlignMix <b>', top1: 0.8125, epochs: 2000 },
    { method: 'mixup & co', top1: 0.75, epochs: 2000 },
    { method: 'baseline', top1: 0.7, epochs: 300 },
  ];

  it('object rows: header from the first row, cells escaped, fractional column fixed, integer column as integers', () => {
    const html = rowsToHtml(rows, { caption: 'top-1 <CIFAR>' });
    assert.deepEqual(parseTable(html), {
      caption: 'top-1 <CIFAR>',
      head: ['method', 'top1', 'epochs'],
      body: [
        ['AlignMix <b>', '0.8125', '2000'],
        ['mixup & co', '0.7500', '2000'],
        ['baseline', '0.7000', '300'],
      ],
    });
    assert.equal(html.match(/<td style="text-align:right">/g)?.length, 6, 'numbers are right-aligned');
    assert.ok(!html.includes('<b>'));
  });

  it('array rows with explicit columns, digits, missing and non-finite values', () => {
    const html = rowsToHtml([[1, 0.123456, null], [2, NaN, 'x']], { columns: ['a', 'b', 'c'], digits: 2 });
    assert.deepEqual(parseTable(html).body, [['1', '0.12', ''], ['2', 'NaN', 'x']]);
  });

  it('formatCells decides integer versus fixed formatting per column', () => {
    assert.deepEqual(formatCells([[1, 1, undefined], [2, 0.5, true]], 3), [['1', '1.000', ''], ['2', '0.500', 'true']]);
  });

  it('rejects ragged array rows and non-object rows, naming the row', () => {
    assert.throws(() => rowsToHtml([[1, 2], [3]]), /rowsToHtml: rows\[1\] must be an array of 2 cells, got 1 cells/);
    assert.throws(() => rowsToHtml([{ a: 1 }, [2] as never]), /rowsToHtml: rows\[1\] must be an object like rows\[0\], got an array/);
  });

  it('outside a kernel showTable prints right-aligned text', () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      showTable([{ k: 'a', v: 0.5 }, { k: 'bbb', v: 12 }], { caption: 'cap' });
    } finally {
      console.log = original;
    }
    assert.deepEqual(lines, ['cap', '  k        v', '  a   0.5000', 'bbb  12.0000']);
  });

  it('a danfojs DataFrame renders its index and values, and danfojs shares this process\'s tfjs', () => {
    const dfd = loadDanfo();
    const df = new dfd.DataFrame(rows.map((r) => ({ ...r })));
    const out: string[] = [];
    showTable(df, { display: { html: (s) => void out.push(s) }, digits: 3 });
    assert.equal(out.length, 1);
    assert.equal(out[0], dataFrameToHtml(df, { digits: 3 }));
    assert.deepEqual(parseTable(out[0]), {
      caption: null,
      head: ['', 'method', 'top1', 'epochs'],
      body: [
        ['0', 'AlignMix <b>', '0.813', '2000'],
        ['1', 'mixup & co', '0.750', '2000'],
        ['2', 'baseline', '0.700', '300'],
      ],
    });
    // One tfjs in the process: danfojs tensors are tensors of our tfjs-core, and its nested
    // tfjs 3.x packages were never loaded.
    const numeric = new dfd.DataFrame([[1, 2], [3, 4]]);
    assert.ok(numeric.tensor instanceof tf.Tensor);
    numeric.tensor.dispose();
    const danfoDir = path.dirname(require.resolve('danfojs-node/package.json'));
    const seededId = require.resolve('@tensorflow/tfjs-node', { paths: [danfoDir] });
    const projectNative = require.cache[require.resolve('@tensorflow/tfjs-node')];
    const expected = projectNative?.loaded ? projectNative.exports : require('@tensorflow/tfjs');
    assert.equal(require.cache[seededId]?.exports, expected);
    const nested = path.join(danfoDir, 'node_modules', '@tensorflow');
    assert.deepEqual(Object.keys(require.cache).filter((k) => k.startsWith(nested) && k !== seededId), []);
  });

  it('on the cpu backend danfojs gets the tfjs namespace and the native library never loads', function () {
    this.timeout(60000);
    // A fresh process: this one already runs whichever backend the test setup chose.
    const script = `
      const assert = require('assert').strict;
      const { initBackend } = require('./lib/backend');
      const { loadDanfo } = require('./lib/display/table');
      initBackend({ backend: 'cpu' }).then(() => {
        const tf = require('@tensorflow/tfjs-core');
        const dfd = loadDanfo();
        const df = new dfd.DataFrame([[1, 2], [3, 4]]);
        assert.ok(df.tensor instanceof tf.Tensor);
        const danfoDir = require('path').dirname(require.resolve('danfojs-node/package.json'));
        const id = require.resolve('@tensorflow/tfjs-node', { paths: [danfoDir] });
        assert.equal(require.cache[id].exports, require('@tensorflow/tfjs'));
        assert.deepEqual(Object.keys(require.cache).filter((k) => k.endsWith('.node')), []);
        console.log(tf.getBackend(), JSON.stringify(df.values));
      });`;
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: path.resolve(__dirname, '..', '..'),
      encoding: 'utf8',
      env: { ...process.env, ALIGNMIX_BACKEND: 'cpu' },
    });
    assert.equal(out.trim(), 'cpu [[1,2],[3,4]]');
  });
});
