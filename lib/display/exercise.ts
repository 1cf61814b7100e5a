/**
 * Checks for the notebooks' exercises: a student's answer against the value the library computes.
 *
 * `checkAnswer(name, got, expected, { hint })` accepts numbers, booleans, strings, nested arrays of
 * numbers and tensors (anything with `arraySync()`), on either side. Numbers match when
 * |got - expected| <= atol + rtol * |expected| (defaults 1e-6 and 1e-4: float32 round-off, not
 * a different method). On a match it prints one line and returns it; otherwise it throws an
 * `ExerciseCheckError` whose message says what was expected, what came, where they first differ
 * and the hint, so the cell fails (the notebook runner counts a thrown error as a failed cell).
 */

export interface CheckOptions {
  /** What to try when the answer is wrong (shown after expected / got). */
  hint?: string;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Where the success line goes; default console.log (tests pass a recorder). */
  log?: (line: string) => void;
}

export class ExerciseCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExerciseCheckError';
  }
}

type Value = number | boolean | string | Value[];

/** Plain value of an answer: tensors become nested arrays. */
function plain(x: unknown): unknown {
  if (x !== null && typeof x === 'object' && typeof (x as { arraySync?: unknown }).arraySync === 'function') {
    return (x as { arraySync(): unknown }).arraySync();
  }
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x as unknown as ArrayLike<number>);
  return x;
}

function shapeOf(x: unknown): number[] {
  const shape: number[] = [];
  let at = x;
  while (Array.isArray(at)) {
    shape.push(at.length);
    at = at[0];
  }
  return shape;
}

function show(x: unknown): string {
  if (x === undefined) return 'undefined';
  if (typeof x === 'number') return String(Number(x.toPrecision(6)));
  if (Array.isArray(x)) {
    const shape = shapeOf(x);
    const text = JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v));
    return text.length > 120 ? `array of shape [${shape.join(', ')}]: ${text.slice(0, 117)}...` : text;
  }
  return JSON.stringify(x);
}

/** First difference between `got` and `expected` (null when they match), with its index path. */
function firstDifference(got: unknown, expected: unknown, atol: number, rtol: number, path: number[]): string | null {
  const at = path.length ? ` at [${path.join(', ')}]` : '';
  if (Array.isArray(expected)) {
    if (!Array.isArray(got)) return `expected an array${at}, got ${show(got)}`;
    if (got.length !== expected.length) {
      return `expected shape [${shapeOf(expected).join(', ')}]${at}, got shape [${shapeOf(got).join(', ')}]`;
    }
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(got[i], expected[i], atol, rtol, [...path, i]);
      if (d) return d;
    }
    return null;
  }
  if (typeof expected === 'number') {
    if (typeof got !== 'number') return `expected a number${at}, got ${show(got)}`;
    if (Number.isNaN(expected) && Number.isNaN(got)) return null;
    const ok = Math.abs(got - expected) <= atol + rtol * Math.abs(expected);
    return ok ? null : `${at ? `entry${at}: ` : ''}expected ${show(expected)}, got ${show(got)}`;
  }
  return got === expected ? null : `expected ${show(expected)}${at}, got ${show(got)}`;
}

/** Check an exercise answer (module doc); returns the success line, throws ExerciseCheckError otherwise. */
export function checkAnswer(name: string, got: unknown, expected: unknown, options: CheckOptions = {}): string {
  const { hint, atol = 1e-6, rtol = 1e-4, log = console.log } = options;
  if (!(atol >= 0 && rtol >= 0)) throw new Error(`checkAnswer(${name}): atol and rtol must be >= 0, got ${atol}, ${rtol}`);
  const want = plain(expected) as Value;
  if (want === undefined) throw new Error(`checkAnswer(${name}): the expected value is undefined (a bug in the check, not in the answer)`);
  const answer = plain(got);
  const hintLine = hint ? `\nHint: ${hint}` : '';
  if (answer === undefined) {
    throw new ExerciseCheckError(`${name}: no answer yet (the variable is undefined): fill in the cell above and run it.${hintLine}`);
  }
  const difference = firstDifference(answer, want, atol, rtol, []);
  if (difference) {
    throw new ExerciseCheckError(`${name}: ${difference}.\nExpected: ${show(want)}\nGot:      ${show(answer)}${hintLine}`);
  }
  const line = `✓ ${name} is right (${show(want)})`;
  log(line);
  return line;
}
