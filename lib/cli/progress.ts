/**
 * Terminal progress for training: a single redrawn line with throughput on a TTY, and one line per
 * epoch otherwise (CI logs stay readable).
 */
import { BatchEvent, EpochRecord, RunSummary, TrainCallbacks } from '../train/trainer';

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function bar(done: number, total: number, width = 20): string {
  const filled = Math.round((width * done) / Math.max(1, total));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function progressCallbacks(label: string, totalEpochs: number, out: NodeJS.WriteStream = process.stderr): TrainCallbacks {
  const tty = !!out.isTTY;
  let lastDraw = 0;
  return {
    onStart: ({ runDir, startEpoch, trainSize }) => {
      out.write(`${label}: ${trainSize} training images, run directory ${runDir}${startEpoch ? ` (resuming after epoch ${startEpoch})` : ''}\n`);
    },
    onBatch: (e: BatchEvent) => {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100 && e.batch < e.batchesPerEpoch) return;
      lastDraw = now;
      const s = e.step;
      out.write(`\r${label} epoch ${e.epoch}/${totalEpochs} ${bar(e.batch, e.batchesPerEpoch)} ${e.batch}/${e.batchesPerEpoch} `
        + `loss ${s.losses.total.toFixed(3)} ${s.mode}${s.mode === 'clean' ? '' : ` λ=${s.lambda.toFixed(2)}`} `
        + `${e.imagesPerSecond.toFixed(0)} img/s   `);
    },
    onEpoch: (r: EpochRecord, summary: RunSummary) => {
      if (tty) out.write('\r\x1b[K');
      out.write(`${label} epoch ${r.epoch}/${totalEpochs}: loss ${r.trainLoss.toFixed(4)}, val ${pct(r.valAccuracy)}, `
        + `test ${pct(r.testAccuracy)} (best val ${pct(summary.bestValAccuracy)} @${summary.bestValEpoch}), `
        + `${r.imagesPerSecond.toFixed(0)} img/s, ${r.seconds.toFixed(1)} s\n`);
    },
  };
}
