/**
 * Learning-rate schedules, as multipliers of the base rates, evaluated per epoch (as PyTorch's
 * MultiStepLR stepped once per epoch, which the papers' protocols use: "decayed by 0.1 every 500
 * epochs", "decay by 0.1 at 600 and 900 epochs").
 *
 * Because the multiplier is a pure function of the epoch, resuming a run needs no schedule state.
 */
import { assertInRange, assertInt, assertKnownKeys } from '../validate';

export interface StepSchedule {
  /** Epochs (0-based count of completed epochs) at which the rate is multiplied by gamma. */
  milestones: number[];
  gamma: number;
}

export function validateSchedule(s: StepSchedule, where = 'schedule'): void {
  assertKnownKeys(where, s, ['milestones', 'gamma']);
  assertInRange(where, 'gamma', s.gamma, 0, 1);
  s.milestones.forEach((m, i) => {
    assertInt(where, `milestones[${i}]`, m, 1);
    if (i > 0 && m <= s.milestones[i - 1]) throw new Error(`${where}: milestones must increase, got [${s.milestones.join(', ')}]`);
  });
}

/** Multiplier for training epoch `epoch` (0-based): gamma^(number of milestones <= epoch). */
export function lrMultiplier(s: StepSchedule, epoch: number): number {
  let passed = 0;
  for (const m of s.milestones) if (epoch >= m) passed++;
  return Math.pow(s.gamma, passed);
}

/** Milestones every `every` epochs up to `epochs` (exclusive): "x0.1 every 500 epochs". */
export function everyNEpochs(every: number, epochs: number): number[] {
  assertInt('everyNEpochs', 'every', every, 1);
  const out: number[] = [];
  for (let m = every; m < epochs; m += every) out.push(m);
  return out;
}

/** Scale milestones given for `fromEpochs` to a shorter/longer run of `toEpochs` (quick settings). */
export function scaleMilestones(milestones: number[], fromEpochs: number, toEpochs: number): number[] {
  const scaled = milestones.map((m) => Math.max(1, Math.round((m * toEpochs) / fromEpochs)));
  return scaled.filter((m, i) => m < toEpochs && (i === 0 || m > scaled[i - 1]));
}
