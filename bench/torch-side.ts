/**
 * Running a PyTorch reference script (bench/torch/*.py) from the TypeScript bench scripts. Each
 * prints one JSON report as its last stdout line (bench/torch/common.py); lines before it are
 * the script's own output (oneDNN's verbose log for onednn_step.py).
 *
 * The interpreter is ALIGNMIX_PYTHON, default /usr/bin/python3 (where Debian's python3-torch lives).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

export interface TorchFigure { median_ms: number; min_ms?: number; runs_ms?: number[]; [extra: string]: unknown }

export interface TorchReport {
  available: boolean;
  reason?: string;
  torch?: string;
  threads?: number;
  pipeline?: string;
  figures?: Record<string, TorchFigure>;
}

/** The report of `script` run with `args`, and the stdout lines before it; or why there is none. */
export function runTorchScript(script: string, args: string[]): { report: TorchReport; output: string } | { reason: string } {
  const python = process.env.ALIGNMIX_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [path.join(__dirname, 'torch', script), ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
  });
  if (r.error) return { reason: `${python}: ${r.error.message}` };
  if (r.status !== 0) return { reason: `${script} exited with ${r.status}` };
  const lines = r.stdout.trimEnd().split('\n');
  let report: TorchReport;
  try {
    report = JSON.parse(lines[lines.length - 1]) as TorchReport;
  } catch {
    return { reason: `${script} printed no JSON report as its last line` };
  }
  if (!report.available) return { reason: report.reason ?? `${script}: torch not available` };
  return { report, output: lines.slice(0, -1).join('\n') };
}
