import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { ExerciseCheckError, checkAnswer } from '../../lib/display/exercise';

const quiet = { log: () => undefined };

describe('display: exercise checks', () => {
  it('accepts an answer within atol + rtol * |expected| and prints one line', () => {
    const lines: string[] = [];
    // 0.25 vs 0.25002: |diff| = 2e-5 <= 1e-6 + 1e-4 * 0.25 = 2.6e-5.
    const line = checkAnswer('q', 0.25002, 0.25, { log: (l) => lines.push(l) });
    assert.deepEqual(lines, [line]);
    assert.match(line, /q is right/);
  });

  it('rejects an answer just outside the tolerance, saying expected, got and the hint', () => {
    // 0.25 vs 0.25003: 3e-5 > 2.6e-5.
    assert.throws(
      () => checkAnswer('q', 0.25003, 0.25, { hint: 'divide by the row sum', ...quiet }),
      (e: Error) => e instanceof ExerciseCheckError && /expected 0\.25, got 0\.25003\b/.test(e.message) && /Hint: divide by the row sum/.test(e.message),
    );
  });

  it('names the first differing entry of nested arrays and tensors, either side', () => {
    const plan = [[0.5, 0], [0, 0.5]];
    assert.doesNotThrow(() => checkAnswer('P', tf.tensor2d(plan), plan, quiet));
    assert.doesNotThrow(() => checkAnswer('P', plan, tf.tensor2d(plan), quiet));
    assert.throws(() => checkAnswer('P', [[0.5, 0], [0.5, 0]], plan, quiet), /entry at \[1, 0\]: expected 0, got 0\.5/);
    assert.throws(() => checkAnswer('P', [0.5, 0.5], plan, quiet), /expected an array at \[0\], got 0\.5/);
    assert.throws(() => checkAnswer('P', [[0.5, 0]], plan, quiet), /expected shape \[2, 2\], got shape \[1, 2\]/);
  });

  it('says "no answer yet" for an unanswered (undefined) variable', () => {
    assert.throws(() => checkAnswer('x', undefined, 1, quiet), (e: Error) => e instanceof ExerciseCheckError && /no answer yet/.test(e.message));
  });

  it('compares booleans and strings exactly, NaN matches NaN', () => {
    assert.doesNotThrow(() => checkAnswer('b', true, true, quiet));
    assert.throws(() => checkAnswer('b', false, true, quiet), /expected true, got false/);
    assert.throws(() => checkAnswer('s', 'x', 'y', quiet), /expected "y", got "x"/);
    assert.doesNotThrow(() => checkAnswer('n', NaN, NaN, quiet));
  });

  it('refuses a check whose expected value is undefined or whose tolerances are negative', () => {
    assert.throws(() => checkAnswer('e', 1, undefined, quiet), /expected value is undefined/);
    assert.throws(() => checkAnswer('e', 1, 1, { atol: -1, ...quiet }), /atol and rtol must be >= 0/);
  });
});
