/**
 * Tables for notebooks: plain rows or a danfojs DataFrame rendered as an HTML table.
 *
 * danfojs-node is loaded lazily (`loadDanfo`, about half a second) and made to share this
 * process's TensorFlow.js. danfojs-node 1.2 does `require('@tensorflow/tfjs-node')` when it loads.
 * package.json's overrides point that at the project's own @tensorflow/tfjs-node, so when the
 * native backend runs, danfojs finds it already loaded and shares it. When it does not (wasm / cpu
 * backends), that require would throw where the native addon was never built, or load the native
 * TensorFlow library just for tables; and an install without the override gives danfojs a nested
 * tfjs-node 3.x, a second tfjs next to ours. So, when the module id danfojs will resolve is not
 * loaded yet, it is pre-seeded in Node's require cache with the @tensorflow/tfjs namespace this
 * process already uses. This is the one place that does it.
 */
import * as path from 'path';
import { escapeHtml } from './html';
import { kernelDisplay, HtmlDisplay } from './kernel';

export type TableCell = string | number | boolean | null | undefined;

/** What the table helpers read from a danfojs DataFrame (structural, so no danfojs types load). */
export interface DataFrameLike {
  columns: string[];
  index: (string | number)[];
  values: unknown[];
}

export interface TableOptions {
  /** Column names; default the keys of the first row (object rows) or 0, 1, ... (array rows). */
  columns?: string[];
  /** Caption above the table. */
  caption?: string;
  /** Decimal places for non-integer numbers (default 4). */
  digits?: number;
  /** Where the HTML goes; default the kernel's display (tests pass a recorder). */
  display?: HtmlDisplay;
}

/** Table rows: objects keyed by column name, or arrays in column order. */
export type Rows = readonly (Record<string, TableCell> | readonly TableCell[])[];

/**
 * The text of every cell, column by column: a column whose numbers are all integers prints them
 * as integers; any other column prints its finite numbers with `digits` decimals, so a column
 * lines up. null / undefined print as empty cells.
 */
export function formatCells(cells: readonly (readonly TableCell[])[], digits = 4): string[][] {
  const width = cells.reduce((w, row) => Math.max(w, row.length), 0);
  const fractional = Array.from({ length: width }, (_, j) =>
    cells.some((row) => typeof row[j] === 'number' && Number.isFinite(row[j]) && !Number.isInteger(row[j])),
  );
  return cells.map((row) =>
    row.map((v, j) => {
      if (v === null || v === undefined) return '';
      if (typeof v === 'number' && fractional[j] && Number.isFinite(v)) return v.toFixed(digits);
      return String(v);
    }),
  );
}

function rowArrays(where: string, rows: Rows, columns?: string[]): { columns: string[]; cells: TableCell[][] } {
  if (rows.length === 0) return { columns: columns ?? [], cells: [] };
  if (Array.isArray(rows[0])) {
    const arrays = rows as readonly (readonly TableCell[])[];
    const width = columns?.length ?? arrays[0].length;
    arrays.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw new Error(`${where}: rows[${i}] must be an array of ${width} cells, got ${Array.isArray(row) ? `${row.length} cells` : typeof row}`);
      }
    });
    return { columns: columns ?? Array.from({ length: width }, (_, j) => String(j)), cells: arrays.map((r) => [...r]) };
  }
  const objects = rows as readonly Record<string, TableCell>[];
  const names = columns ?? Object.keys(objects[0]);
  objects.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new Error(`${where}: rows[${i}] must be an object like rows[0], got ${Array.isArray(row) ? 'an array' : typeof row}`);
    }
  });
  return { columns: names, cells: objects.map((row) => names.map((name) => row[name])) };
}

function isDataFrame(table: Rows | DataFrameLike): table is DataFrameLike {
  return !Array.isArray(table);
}

/** Header and cells of a DataFrame, its index as the first (unnamed) column. */
function frameCells(df: DataFrameLike): { columns: string[]; cells: TableCell[][] } {
  const cells = df.values.map((row, i) => [df.index[i], ...(Array.isArray(row) ? row : [row])] as TableCell[]);
  return { columns: ['', ...df.columns], cells };
}

function tableHtml(columns: string[], cells: TableCell[][], options: Omit<TableOptions, 'display' | 'columns'>): string {
  const text = formatCells(cells, options.digits);
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = cells
    .map((row, i) => `<tr>${row.map((v, j) => `<td${typeof v === 'number' ? ' style="text-align:right"' : ''}>${escapeHtml(text[i][j])}</td>`).join('')}</tr>`)
    .join('\n');
  const caption = options.caption === undefined ? '' : `<caption>${escapeHtml(options.caption)}</caption>`;
  return `<table class="alignmix-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/**
 * An HTML table of `rows` (objects keyed by column, or arrays in column order). Numbers are
 * right-aligned; every cell and header is HTML-escaped.
 */
export function rowsToHtml(rows: Rows, options: Omit<TableOptions, 'display'> = {}): string {
  const { columns, cells } = rowArrays('rowsToHtml', rows, options.columns);
  return tableHtml(columns, cells, options);
}

/** The HTML table of a DataFrame, its index as the first (unnamed) column. */
export function dataFrameToHtml(df: DataFrameLike, options: Omit<TableOptions, 'display' | 'columns'> = {}): string {
  const { columns, cells } = frameCells(df);
  return tableHtml(columns, cells, options);
}

/** Show rows or a DataFrame: as HTML in a kernel, as right-aligned text on stdout elsewhere. */
export function showTable(table: Rows | DataFrameLike, options: TableOptions = {}): void {
  const { columns, cells } = isDataFrame(table) ? frameCells(table) : rowArrays('showTable', table, options.columns);
  const display = options.display ?? kernelDisplay();
  if (display) {
    display.html(tableHtml(columns, cells, options));
    return;
  }
  const text = [columns, ...formatCells(cells, options.digits)];
  const widths = columns.map((_, j) => Math.max(...text.map((row) => row[j].length)));
  if (options.caption !== undefined) console.log(options.caption);
  for (const row of text) console.log(row.map((v, j) => v.padStart(widths[j])).join('  '));
}

type Danfo = typeof import('danfojs-node');
let danfo: Danfo | null = null;

/** The tfjs namespace this process already runs (see the module header). */
function runningTfjs(): unknown {
  const nativePath = require.resolve('@tensorflow/tfjs-node');
  const native = require.cache[nativePath];
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return native?.loaded ? native.exports : require('@tensorflow/tfjs');
}

/**
 * danfojs-node, loaded on first use and sharing this process's TensorFlow.js (module header).
 * Call after `initBackend()` so that danfojs tensors land on the running backend.
 */
export function loadDanfo(): Danfo {
  if (danfo) return danfo;
  const danfoDir = path.dirname(require.resolve('danfojs-node/package.json'));
  const tfIdFromDanfo = require.resolve('@tensorflow/tfjs-node', { paths: [danfoDir] });
  if (!require.cache[tfIdFromDanfo]) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const NodeModule = require('module') as typeof import('module');
    const seeded = new NodeModule(tfIdFromDanfo);
    seeded.filename = tfIdFromDanfo;
    seeded.exports = runningTfjs();
    seeded.loaded = true;
    require.cache[tfIdFromDanfo] = seeded;
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  danfo = require('danfojs-node') as Danfo;
  return danfo;
}
