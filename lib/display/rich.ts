/**
 * Library values that render themselves as a notebook cell's result (execute_result) in the
 * alignmix kernel: importing lib/display registers `richBundle` with the kernel
 * (kernel-api.ts `registerRenderer`), which tries it on every cell value that has no
 * `[MIME_BUNDLE]` method of its own, before its built-in tensor rendering.
 *
 * What is recognised, by shape (the values are plain objects, mostly read back from JSON):
 *   danfojs DataFrame        its table (dataFrameToHtml)
 *   plotly figure            { data: traces[], layout? }: the offline plot (figureHtml; the page
 *                            needs loadPlotly() from the notebook's first cell)
 *   run summary              RunSummary (lib/train/trainer.ts): metric / value table
 *   Sinkhorn diagnostics     SinkhornDiagnostics, or a SinkhornResult's: field / value table
 *   training config          TrainConfig: flattenConfig's 'section.field' / value table
 */
import { kernelApi } from './kernel-api';
import { figureHtml, PlotlyFigure } from './plotly';
import { DataFrameLike, dataFrameToHtml, rowsToHtml } from './table';
import { flattenConfig } from './training';
import type { TrainConfig } from '../train/config';

export type MimeBundle = Record<string, string>;

const RUN_SUMMARY_KEYS = ['protocol', 'method', 'bestValAccuracy', 'testAccuracyAtBestVal', 'finalTestAccuracy', 'trainSeconds'];
const DIAGNOSTICS_KEYS = ['solver', 'iterations', 'rowError', 'colError', 'tol', 'converged'];
const CONFIG_KEYS = ['protocol', 'method', 'data', 'model', 'optim', 'schedule', 'epochs'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasKeys(v: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((k) => k in v);
}

/** A two-column field / value table of an object's scalar fields. */
function fieldTable(title: string, fields: Record<string, unknown>): MimeBundle {
  const rows = Object.entries(fields)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    .map(([field, value]) => ({ field, value: value as string | number | boolean | null }));
  const text = rows.map((r) => `${r.field}: ${String(r.value)}`).join('\n');
  return { 'text/html': rowsToHtml(rows, { caption: title }), 'text/plain': `${title}\n${text}` };
}

/** The MIME bundle of a library value (see the module comment), or null when it is none of them. */
export function richBundle(value: unknown): MimeBundle | null {
  if (!isObject(value)) return null;
  if (Array.isArray(value.columns) && Array.isArray(value.index) && Array.isArray(value.values) && typeof value.head === 'function') {
    const df = value as unknown as DataFrameLike;
    return { 'text/html': dataFrameToHtml(df), 'text/plain': `DataFrame ${df.index.length} x ${df.columns.length}: ${df.columns.join(', ')}` };
  }
  if (Array.isArray(value.data) && value.data.length > 0 && value.data.every(isObject) && (value.layout === undefined || isObject(value.layout))) {
    const figure = value as unknown as PlotlyFigure;
    return { 'text/html': figureHtml(figure), 'text/plain': `plotly figure: ${figure.data.length} trace(s)` };
  }
  if (hasKeys(value, RUN_SUMMARY_KEYS)) return fieldTable(`run summary: ${String(value.method)} on ${String(value.protocol)}`, value);
  const diagnostics = isObject(value.diagnostics) && hasKeys(value.diagnostics, DIAGNOSTICS_KEYS) ? value.diagnostics : value;
  if (hasKeys(diagnostics, DIAGNOSTICS_KEYS)) return fieldTable('Sinkhorn diagnostics', diagnostics);
  if (hasKeys(value, CONFIG_KEYS) && isObject(value.data) && isObject(value.model)) {
    return fieldTable(`training config: ${String(value.method)} on ${String(value.protocol)}`, flattenConfig(value as unknown as TrainConfig));
  }
  return null;
}

kernelApi()?.registerRenderer('alignmix.display', richBundle);
