/**
 * Notebook views of evaluation reports (lib/eval/report.ts): reliability diagrams and the report
 * rows of several models side by side.
 *
 * Reliability diagram (main paper Fig. 5, supplementary Fig. 4). The test predictions are binned by
 * confidence c = max softmax probability into M equal bins; each bar is the accuracy of a bin, drawn
 * over the bin's confidence range, beside the diagonal accuracy = confidence of a perfectly
 * calibrated model. Bars below the diagonal are overconfident bins. The panel title carries
 *   ECE = sum_b (n_b / n) |acc_b - conf_b|   and   OE = sum_b (n_b / n) conf_b max(conf_b - acc_b, 0)
 * as lib/eval/calibration.ts computes them (in %).
 */
import type { CalibrationResult } from '../eval/calibration';
import type { ReportRow } from '../eval/report';
import { assertKnownKeys } from '../validate';
import { PlotlyFigure, PlotlyTrace } from './plotly';
import { Rows, TableCell } from './table';

/** Reliability diagrams side by side, one panel per named calibration result (module comment). */
export function reliabilityFigure(runs: readonly { name: string; calibration: CalibrationResult }[], options: { title?: string } = {}): PlotlyFigure {
  assertKnownKeys('reliabilityFigure', options, ['title']);
  if (runs.length === 0) throw new Error('reliabilityFigure: runs must hold at least one calibration result, got none');
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    title: { text: options.title ?? '' },
    grid: { rows: 1, columns: runs.length, pattern: 'independent' },
    annotations: [] as unknown[],
    legend: { orientation: 'h', y: -0.25 },
    margin: { t: 90 },
  };
  runs.forEach(({ name, calibration }, i) => {
    const axis = i === 0 ? '' : String(i + 1);
    const bins = calibration.reliability;
    data.push({
      type: 'bar', name: 'accuracy per bin', showlegend: i === 0, marker: { color: '#3366cc' },
      x: bins.map((b) => (b.lower + b.upper) / 2), y: bins.map((b) => b.accuracy), width: bins.map((b) => b.upper - b.lower),
      customdata: bins.map((b) => b.count), hovertemplate: 'confidence %{x:.2f}<br>accuracy %{y:.3f}<br>%{customdata} images',
      xaxis: `x${axis}`, yaxis: `y${axis}`,
    });
    data.push({
      type: 'scatter', mode: 'lines', name: 'perfect calibration', showlegend: i === 0, line: { dash: 'dash', color: '#cc3333' },
      x: [0, 1], y: [0, 1], xaxis: `x${axis}`, yaxis: `y${axis}`,
    });
    layout[`xaxis${axis}`] = { title: { text: 'confidence' }, range: [0, 1] };
    layout[`yaxis${axis}`] = { title: { text: i === 0 ? 'accuracy' : '' }, range: [0, 1] };
    (layout.annotations as unknown[]).push({
      text: `${name}<br>ECE ${(100 * calibration.ece).toFixed(2)} · OE ${(100 * calibration.oe).toFixed(2)}`,
      xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1.02, xanchor: 'center', yanchor: 'bottom', showarrow: false,
    });
  });
  return { data, layout };
}

/**
 * Report rows of several models as one table: a row per (metric, source), a column per model,
 * values in % (lib/eval's report units). `metrics` keeps those metrics, in that order (default all).
 */
export function reportComparisonRows(reports: readonly { name: string; rows: readonly ReportRow[] }[], metrics?: readonly string[]): Rows {
  const key = (r: ReportRow) => `${r.metric}\u0000${r.source}`;
  const keys: string[] = [];
  for (const { rows } of reports) {
    for (const r of rows) if (!keys.includes(key(r)) && (!metrics || metrics.includes(r.metric))) keys.push(key(r));
  }
  if (metrics) keys.sort((a, b) => metrics.indexOf(a.split('\u0000')[0]) - metrics.indexOf(b.split('\u0000')[0]));
  return keys.map((k) => {
    const [metric, source] = k.split('\u0000');
    const row: Record<string, TableCell> = { metric, source };
    for (const { name, rows } of reports) row[name] = rows.find((r) => key(r) === k)?.value ?? null;
    return row;
  });
}
