/**
 * Input checks shared by the library. Every check throws an Error whose message names the
 * function, the argument, what was expected and what was given, e.g.
 *   "alignFeatures: a has shape [8,4,4,64] but b has shape [8,4,4,32]".
 */
import * as tf from '@tensorflow/tfjs-core';

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Throw unless `t` has `rank` dimensions. */
export function assertRank(where: string, name: string, t: tf.Tensor, rank: number): void {
  if (t.rank !== rank) {
    throw new Error(`${where}: ${name} must have rank ${rank}, got shape ${shapeStr(t.shape)}`);
  }
}

/**
 * Throw unless `t.shape` matches `expected`, where `null` entries match any size.
 * Example: assertShape('f', 'x', x, [null, 32, 32, 3]).
 */
export function assertShape(where: string, name: string, t: tf.Tensor, expected: readonly (number | null)[]): void {
  const ok = t.rank === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const exp = `[${expected.map((d) => (d === null ? '*' : d)).join(',')}]`;
    throw new Error(`${where}: ${name} must have shape ${exp}, got ${shapeStr(t.shape)}`);
  }
}

/** Throw unless two tensors have identical shapes. */
export function assertSameShape(where: string, nameA: string, a: tf.Tensor, nameB: string, b: tf.Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${where}: ${nameA} has shape ${shapeStr(a.shape)} but ${nameB} has shape ${shapeStr(b.shape)}`);
  }
}

/**
 * Throw if `t` holds NaN or +-Inf. This reads the tensor back (a device sync), so call it on
 * inputs at API boundaries, not inside hot loops.
 */
export function assertFinite(where: string, name: string, t: tf.Tensor): void {
  const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(t))).dataSync()[0]);
  if (bad) {
    const nan = tf.tidy(() => tf.any(tf.isNaN(t)).dataSync()[0]);
    throw new Error(`${where}: ${name} contains ${nan ? 'NaN' : 'Inf'} values (shape ${shapeStr(t.shape)})`);
  }
}

/** Throw unless `value` is a finite number strictly greater than 0. */
export function assertPositive(where: string, name: string, value: number): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new Error(`${where}: ${name} must be a finite number > 0, got ${value}`);
  }
}

/** Throw unless `value` is an integer in [min, max]. */
export function assertInt(where: string, name: string, value: number, min = -Infinity, max = Infinity): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    const range = `${Number.isFinite(min) ? min : '-inf'}..${Number.isFinite(max) ? max : 'inf'}`;
    throw new Error(`${where}: ${name} must be an integer in ${range}, got ${value}`);
  }
}

/** Throw unless `value` is a finite number in [min, max]. */
export function assertInRange(where: string, name: string, value: number, min: number, max: number): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max)) {
    throw new Error(`${where}: ${name} must be in [${min}, ${max}], got ${value}`);
  }
}

/** Throw unless `value` is one of `allowed`; returns it narrowed. */
export function assertOneOf<T extends string>(where: string, name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${where}: unknown ${name} '${value}'; expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Reject option keys that the callee does not know (typos in configs must not pass silently). */
export function assertKnownKeys(where: string, obj: object, known: readonly string[]): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw new Error(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${known.join(', ')}`);
  }
}
