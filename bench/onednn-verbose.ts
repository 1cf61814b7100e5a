/**
 * Reading oneDNN's verbose log (`ONEDNN_VERBOSE=1`): each primitive execution prints one line
 * ending in its problem description and its time in ms. Both the library in TensorFlow 2.21
 * (oneDNN 3.x: `onednn_verbose,v1,primitive,exec,cpu,<kind>,<impl>,<prop>,...`) and the one in
 * PyTorch 1.13 / Debian's libdnnl2 (oneDNN 2.6: `onednn_verbose,exec,cpu,<kind>,<impl>,<prop>,...`)
 * are read: the fields are found from the `exec` field on.
 *
 * Convolutions are keyed by the work they do, not by how it is laid out: channels, kernel,
 * stride and output size, plus the direction. The input size and padding are left out because
 * lib/nn pads the input of a stride-2 3x3 convolution itself (PyTorch's padding 1, which
 * TensorFlow's 'SAME' does not give on even sizes) and runs it unpadded, where PyTorch pads
 * inside the primitive: the same products either way.
 */
import { median } from './timing';

export interface OnednnExec {
  /** Primitive kind: convolution, reorder, batch_normalization, matmul, ... */
  kind: string;
  /** The implementation oneDNN chose, e.g. brg_conv_fwd:avx512_core or jit:avx512_core. */
  impl: string;
  /** forward_training, backward_data, backward_weights, ... (undef for reorders). */
  propagation: string;
  problem: string;
  ms: number;
}

/**
 * The exec lines of `log`, one list per window between a line `begin` and the next line `end`
 * (without markers: one list of every exec line).
 */
export function parseOnednnExec(log: string, begin?: string, end?: string): OnednnExec[][] {
  const windows: OnednnExec[][] = begin === undefined ? [[]] : [];
  let current: OnednnExec[] | undefined = windows[0];
  for (const raw of log.split('\n')) {
    const line = raw.trim();
    if (begin !== undefined && line === begin) { current = []; windows.push(current); continue; }
    if (end !== undefined && line === end) { current = undefined; continue; }
    if (!current || !line.startsWith('onednn_verbose,')) continue;
    const f = line.split(',');
    const at = f.indexOf('exec');
    if (at < 0 || f.length < at + 6) continue;
    const ms = Number(f[f.length - 1]);
    if (!Number.isFinite(ms)) throw new Error(`oneDNN verbose line without a time: ${line}`);
    current.push({ kind: f[at + 2], impl: f[at + 3], propagation: f[at + 4], problem: f[f.length - 2], ms });
  }
  return windows;
}

const DIRECTIONS: Record<string, string> = { forward_training: 'fwd', forward_inference: 'fwd', backward_data: 'dgrad', backward_weights: 'wgrad' };

/**
 * A convolution's work as a label: `3x3 s2 64->128 @16x16 dgrad` for a problem such as
 * `mb32_ic64oc128_ih34oh16kh3sh2dh0ph0_iw34ow16kw3sw2dw0pw0` run backward on data.
 */
export function convolutionLabel(problem: string, propagation: string): string {
  const fields = new Map<string, number>();
  for (const [, key, value] of problem.matchAll(/([a-z]+)(\d+)/g)) fields.set(key, Number(value));
  const num = (key: string): number => {
    const value = fields.get(key);
    if (value === undefined) throw new Error(`oneDNN convolution problem '${problem}' has no ${key}`);
    return value;
  };
  const direction = DIRECTIONS[propagation];
  if (!direction) throw new Error(`oneDNN convolution with unexpected propagation '${propagation}'`);
  return `${num('kh')}x${num('kw')} s${num('sh')} ${num('ic')}->${num('oc')} @${num('oh')}x${num('ow')} ${direction}`;
}

export interface OnednnSummary {
  /** ms per convolution label (convolutionLabel). */
  convolutions: Record<string, number>;
  /** ms per other primitive kind (reorder, batch_normalization, ...). */
  others: Record<string, number>;
  /** Sums: all convolutions, and every primitive. */
  convolutionMs: number;
  totalMs: number;
}

export function summariseOnednn(execs: OnednnExec[]): OnednnSummary {
  const convolutions: Record<string, number> = {};
  const others: Record<string, number> = {};
  let convolutionMs = 0;
  let totalMs = 0;
  for (const e of execs) {
    totalMs += e.ms;
    if (e.kind === 'convolution') {
      const label = convolutionLabel(e.problem, e.propagation);
      convolutions[label] = (convolutions[label] ?? 0) + e.ms;
      convolutionMs += e.ms;
    } else {
      others[e.kind] = (others[e.kind] ?? 0) + e.ms;
    }
  }
  return { convolutions, others, convolutionMs, totalMs };
}

/** Per figure, the median over several steps' summaries (a figure a step lacks counts as 0). */
export function medianSummary(steps: OnednnSummary[]): OnednnSummary {
  if (steps.length === 0) throw new Error('medianSummary: no steps');
  const byKey = (pick: (s: OnednnSummary) => Record<string, number>): Record<string, number> => {
    const keys = [...new Set(steps.flatMap((s) => Object.keys(pick(s))))];
    return Object.fromEntries(keys.map((k) => [k, median(steps.map((s) => pick(s)[k] ?? 0))]));
  };
  return {
    convolutions: byKey((s) => s.convolutions),
    others: byKey((s) => s.others),
    convolutionMs: median(steps.map((s) => s.convolutionMs)),
    totalMs: median(steps.map((s) => s.totalMs)),
  };
}
