import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { auroc, averagePrecision, bestDetectionAccuracy, detectionAccuracy, oodMetrics } from '../../lib/eval/ood';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('eval/ood: detection metrics', () => {
  // Hand case with a tie across the sets: ID scores {0.9, 0.7, 0.5}, OOD scores {0.7, 0.3}.
  const inScores = [0.9, 0.7, 0.5];
  const outScores = [0.7, 0.3];

  it('AUROC counts ties 1/2 (hand computed)', () => {
    // Pairs (in, out): (.9,.7) 1, (.9,.3) 1, (.7,.7) 1/2, (.7,.3) 1, (.5,.7) 0, (.5,.3) 1 -> 4.5 / 6.
    close(auroc(inScores, outScores), 0.75);
    // Everything tied: every pair counts 1/2.
    close(auroc([0.5, 0.5], [0.5]), 0.5);
    // Perfect separation and perfect inversion.
    close(auroc([0.9, 0.8], [0.1, 0.2]), 1);
    close(auroc([0.1, 0.2], [0.9, 0.8]), 0);
  });

  it('AUPR-In is step-wise average precision with ID positive (hand computed)', () => {
    // Thresholds descending (positive = score >= t):
    //   t=.9: TP1 FP0  P=1    R=1/3
    //   t=.7: TP2 FP1  P=2/3  R=2/3   (the tied ID and OOD 0.7 enter together)
    //   t=.5: TP3 FP1  P=3/4  R=1
    //   t=.3: TP3 FP2  P=3/5  R=1     (recall does not grow: adds 0)
    // AP = 1/3*1 + 1/3*2/3 + 1/3*3/4 = 29/36.
    close(averagePrecision(inScores, outScores), 29 / 36);
    // All tied: one threshold, P = 2/3, R 0 -> 1.
    close(averagePrecision([0.5, 0.5], [0.5]), 2 / 3);
  });

  it('AUPR-Out is average precision with OOD positive on negated scores (hand computed)', () => {
    // OOD positive, score -s: positives {-.7, -.3}, negatives {-.9, -.7, -.5}.
    //   t=-.3: TP1 FP0 P=1   R=1/2
    //   t=-.5: TP1 FP1 P=1/2 R=1/2  (adds 0)
    //   t=-.7: TP2 FP2 P=1/2 R=1
    //   t=-.9: TP2 FP3 P=2/5 R=1    (adds 0)
    // AP = 1/2*1 + 1/2*1/2 = 3/4.
    const m = oodMetrics(inScores, outScores);
    close(m.auprOut, 0.75);
    close(m.auprIn, 29 / 36);
    close(m.auroc, 0.75);
    assert.equal(m.nIn, 3);
    assert.equal(m.nOut, 2);
  });

  it('detection accuracy at 0.5: ID iff score >= t, balanced (hand computed)', () => {
    // TPR = #{in >= .5}/3 = 1 (0.5 itself counts as ID), TNR = #{out < .5}/2 = 1/2.
    close(detectionAccuracy(inScores, outScores, 0.5), 0.75);
    // Just above 0.5 the ID 0.5 becomes OOD: TPR 2/3, TNR 1/2.
    close(detectionAccuracy(inScores, outScores, 0.5000001), 0.5 * (2 / 3) + 0.25);
    // Balanced, not pooled: 1 ID of 1 right, 1 OOD of 3 right -> 0.5*1 + 0.5*1/3.
    close(detectionAccuracy([0.9], [0.9, 0.9, 0.1], 0.5), 0.5 + 0.5 / 3);
    close(oodMetrics(inScores, outScores).detAcc, 0.75);
  });

  it('best detection accuracy maximises over thresholds (hand computed)', () => {
    // t=.3: 1/2*1 + 1/2*0 = .5;  t=.5: 1/2*1 + 1/2*1/2 = .75;  t=.7: 1/2*2/3 + 1/2*1/2 = .5833;
    // t=.9: 1/2*1/3 + 1/2*1 = .6667.
    const best = bestDetectionAccuracy(inScores, outScores);
    close(best.accuracy, 0.75);
    assert.equal(best.threshold, 0.5);
    const m = oodMetrics(inScores, outScores);
    close(m.bestDetAcc, 0.75);
    assert.equal(m.bestThreshold, 0.5);
  });

  it('match brute-force definitions on random scores with many ties', () => {
    const rng = new Rng(3);
    // Scores on a coarse grid so that ties within and across sets are common.
    const ins = Array.from({ length: 57 }, () => Math.round(rng.uniform() * 10 + 3) / 20);
    const outs = Array.from({ length: 41 }, () => Math.round(rng.uniform() * 10) / 20);
    let pairs = 0;
    for (const a of ins) for (const b of outs) pairs += a > b ? 1 : a === b ? 0.5 : 0;
    close(auroc(ins, outs), pairs / (ins.length * outs.length), 1e-12);

    // AP as the sum over distinct thresholds of (recall gain) * precision, counted directly.
    const apBrute = (pos: number[], neg: number[]) => {
      const thresholds = [...new Set([...pos, ...neg])].sort((a, b) => b - a);
      let ap = 0;
      let prev = 0;
      for (const t of thresholds) {
        const tp = pos.filter((s) => s >= t).length;
        const fp = neg.filter((s) => s >= t).length;
        ap += (tp / pos.length - prev) * (tp / (tp + fp));
        prev = tp / pos.length;
      }
      return ap;
    };
    close(averagePrecision(ins, outs), apBrute(ins, outs), 1e-12);
    close(oodMetrics(ins, outs).auprOut, apBrute(outs.map((s) => -s), ins.map((s) => -s)), 1e-12);

    let best = 0;
    for (const t of [...ins, ...outs]) best = Math.max(best, detectionAccuracy(ins, outs, t));
    close(bestDetectionAccuracy(ins, outs).accuracy, best, 1e-12);
  });

  it('AP without ties equals the mean precision at each positive', () => {
    const rng = new Rng(11);
    const pos = Array.from({ length: 30 }, () => rng.uniform() + 0.3);
    const neg = Array.from({ length: 45 }, () => rng.uniform());
    const all = [...pos, ...neg];
    let sum = 0;
    for (const s of pos) sum += pos.filter((v) => v >= s).length / all.filter((v) => v >= s).length;
    close(averagePrecision(pos, neg), sum / pos.length, 1e-12);
  });

  it('rejects empty sets and NaN scores with clear errors', () => {
    assert.throws(() => auroc([], [0.1]), /auroc: positive is empty/);
    assert.throws(() => averagePrecision([0.2], []), /averagePrecision: negative is empty/);
    assert.throws(() => oodMetrics([0.2, NaN], [0.1]), /inScores\[1\] is NaN/);
    assert.throws(() => detectionAccuracy([0.2], [0.1], NaN), /threshold must be a number/);
    assert.throws(() => oodMetrics([0.2], [0.1], { threshold: Infinity }), /threshold must be in/);
    assert.throws(() => oodMetrics([0.2], [0.1], { thresold: 0.5 } as never), /unknown option 'thresold'/);
  });
});
