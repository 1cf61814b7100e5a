/*
 * A cell's value as a Jupyter MIME bundle (execute_result's `data`).
 *
 * In order: an object with a `Symbol.for('alignmix.mimeBundle')` method renders itself (the
 * documented display protocol, MIME_BUNDLE in lib/display/kernel-api.ts); renderers that library
 * code registered (lib/display/rich.ts: DataFrames, plotly figures, run summaries, Sinkhorn
 * diagnostics, configs); a tf.Tensor renders as shape, dtype and its values (a table up to rank 2,
 * a heatmap beside a 2-D table, images for an image batch [N, H, W, 1|3]); anything else as Node's
 * util.inspect text. Tensors are recognised by shape (duck typing): the kernel does not load tfjs.
 */
'use strict';
const util = require('util');

const MIME_BUNDLE = Symbol.for('alignmix.mimeBundle');
const MAX_ROWS = 20;
const MAX_COLS = 20;

function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function isTensor(v) {
  return v && typeof v === 'object' && Array.isArray(v.shape) && typeof v.dtype === 'string' && typeof v.dataSync === 'function' && typeof v.arraySync === 'function';
}

function formatNumber(x) {
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : x.toFixed(4);
}

/** An HTML table of rows (arrays of numbers); long sides elided in the middle. */
function htmlTable(rows) {
  const pick = (n, max) => (n <= max ? [...Array(n).keys()] : [...[...Array(max / 2).keys()], -1, ...[...Array(max / 2).keys()].map((i) => n - max / 2 + i)]);
  const ri = pick(rows.length, MAX_ROWS);
  const ncol = rows.length ? rows[0].length : 0;
  const ci = pick(ncol, MAX_COLS);
  const cell = (tag, x) => `<${tag}>${x}</${tag}>`;
  let html = '<table class="alignmix-table"><tbody>';
  for (const r of ri) {
    if (r < 0) {
      html += '<tr>' + ci.map(() => cell('td', '…')).join('') + '</tr>';
      continue;
    }
    html += '<tr>' + ci.map((c) => cell('td', c < 0 ? '…' : escapeHtml(formatNumber(rows[r][c])))).join('') + '</tr>';
  }
  return html + '</tbody></table>';
}

/** A grey-scale SVG heatmap of a matrix (min -> white, max -> black), at most 256 x 256 cells. */
function svgHeatmap(rows) {
  const h = rows.length;
  const w = rows[0].length;
  if (h > 256 || w > 256) return '';
  let min = Infinity;
  let max = -Infinity;
  for (const row of rows) for (const x of row) if (Number.isFinite(x)) (min = Math.min(min, x)), (max = Math.max(max, x));
  const span = max > min ? max - min : 1;
  const size = Math.max(2, Math.min(24, Math.floor(240 / Math.max(h, w))));
  let rects = '';
  rows.forEach((row, i) =>
    row.forEach((x, j) => {
      const g = Number.isFinite(x) ? Math.round(255 * (1 - (x - min) / span)) : 255;
      rects += `<rect x="${j * size}" y="${i * size}" width="${size}" height="${size}" fill="rgb(${g},${g},${g})"/>`;
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w * size}" height="${h * size}">${rects}</svg>`;
}

/** Images of a [N, H, W, C] or [H, W, C] tensor (C = 1 or 3) as inline PNG <img> tags, at most 16. */
function imageTags(t) {
  let png;
  try {
    png = require('pngjs').PNG;
  } catch {
    return '';
  }
  const shape = t.shape.length === 3 ? [1, ...t.shape] : t.shape;
  const [n, h, w, c] = shape;
  const data = t.dataSync();
  let min = Infinity;
  let max = -Infinity;
  for (const x of data) (min = Math.min(min, x)), (max = Math.max(max, x));
  // Values in [0, 1] or [0, 255] are shown as they are; anything else is stretched to [0, 255].
  const scale = min >= 0 && max <= 1 ? (x) => x * 255 : min >= 0 && max <= 255 ? (x) => x : (x) => ((x - min) / (max - min || 1)) * 255;
  const tags = [];
  for (let k = 0; k < Math.min(n, 16); k++) {
    const img = new png({ width: w, height: h });
    for (let p = 0; p < h * w; p++) {
      for (let ch = 0; ch < 3; ch++) img.data[p * 4 + ch] = Math.round(scale(data[k * h * w * c + p * c + (c === 3 ? ch : 0)]));
      img.data[p * 4 + 3] = 255;
    }
    const b64 = png.sync.write(img).toString('base64');
    tags.push(`<img src="data:image/png;base64,${b64}" width="${Math.max(w, 64)}" style="image-rendering: pixelated; margin: 2px" title="${k}"/>`);
  }
  return tags.join('');
}

function tensorBundle(t) {
  const head = `Tensor shape=[${t.shape.join(', ')}] dtype=${t.dtype}`;
  if (t.isDisposed || t.isDisposedInternal) return { 'text/plain': `${head} (disposed)` };
  const text = `${head}\n${t.toString().replace(/^Tensor\n/, '')}`;
  const html = [`<div class="alignmix-tensor"><code>${escapeHtml(head)}</code>`];
  const isImage = (t.shape.length === 4 || t.shape.length === 3) && [1, 3].includes(t.shape[t.shape.length - 1]) && t.shape[t.shape.length - 2] >= 4 && t.dtype !== 'string';
  if (isImage) html.push(`<div>${imageTags(t)}</div>`);
  else if (t.shape.length === 0) html.push(`<div>${escapeHtml(formatNumber(t.dataSync()[0]))}</div>`);
  else if (t.shape.length === 1) html.push(htmlTable([t.arraySync()]));
  else if (t.shape.length === 2) {
    const rows = t.arraySync();
    const heat = t.dtype !== 'string' && t.dtype !== 'bool' && t.shape[0] >= 2 && t.shape[1] >= 2 ? svgHeatmap(rows) : '';
    html.push(`<div style="display: flex; gap: 1em; align-items: flex-start">${htmlTable(rows)}${heat}</div>`);
  } else html.push(`<pre>${escapeHtml(text)}</pre>`);
  html.push('</div>');
  return { 'text/plain': text, 'text/html': html.join('') };
}

/**
 * The MIME bundle of `value`; always has text/plain. `renderers`: the kernel API's
 * registerRenderer entries (name -> value => bundle | null).
 */
function mimeBundle(value, renderers = new Map()) {
  if (value && (typeof value === 'object' || typeof value === 'function') && typeof value[MIME_BUNDLE] === 'function') {
    const bundle = value[MIME_BUNDLE]();
    if (!bundle || typeof bundle !== 'object') throw new TypeError('the value\'s Symbol.for("alignmix.mimeBundle") method did not return a MIME bundle object');
    return 'text/plain' in bundle ? bundle : { 'text/plain': util.inspect(value), ...bundle };
  }
  for (const render of renderers.values()) {
    const bundle = render(value);
    if (bundle) return 'text/plain' in bundle ? bundle : { 'text/plain': util.inspect(value), ...bundle };
  }
  if (isTensor(value)) return tensorBundle(value);
  return { 'text/plain': util.inspect(value, { depth: 4, maxArrayLength: 100 }) };
}

module.exports = { mimeBundle, MIME_BUNDLE };
