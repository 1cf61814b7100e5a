/**
 * Seeded random numbers with a state that can be saved and restored exactly.
 *
 * Every random choice in alignmix (permutations, lambda ~ Beta(alpha, alpha), mix modes, crops,
 * flips, data splits, seeds for tf random ops) comes from an `Rng`, so a run is reproducible
 * from its seed and a resumed run continues the same stream as an uninterrupted one.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128-bit state, period 2^128 - 1, seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 */

export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s: Uint32Array;

  constructor(seed: number | RngState = 0) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) {
      this.setState(seed);
    } else {
      if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}`);
      const sm = splitmix32(Math.floor(seed) ^ Math.floor(seed / 2 ** 32));
      for (let i = 0; i < 4; i++) this.s[i] = sm();
      if (this.s.every((v) => v === 0)) this.s[0] = 1;
    }
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = Math.floor(2 ** 32 / n) * n;
    let x: number;
    do x = this.nextUint32(); while (x >= limit);
    return x % n;
  }

  /** Standard normal (Box-Muller; uses two uniforms per call, no cached spare so state stays simple). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 through the boost u^(1/shape). */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new Error(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.uniform() || Number.MIN_VALUE, 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x ** 4) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    this.shuffle(p);
    return p;
  }

  /** Shuffle an array in place (Fisher-Yates). */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Index drawn with probability proportional to `weights` (non-negative, positive sum). */
  categorical(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`Rng.categorical: weights must be finite and >= 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new Error('Rng.categorical: weights sum to 0');
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Round-off: return the last index with positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** A seed for tf random ops (tf.randomNormal(..., seed)), drawn from this stream. */
  tfSeed(): number {
    return this.int(2 ** 31 - 1);
  }

  /**
   * An independent generator derived from this one's current state and a label, without advancing
   * this one. Use it to give each consumer (data order, augmentation, mixing) its own stream.
   */
  fork(label: string): Rng {
    const h = hashString(label);
    const sm = splitmix32(h ^ this.s[0] ^ rotl(this.s[1], 7) ^ rotl(this.s[2], 13) ^ rotl(this.s[3], 19));
    const child = new Rng(0);
    child.setState([sm(), sm(), sm(), sm()]);
    return child;
  }

  getState(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error(`Rng state must be four uint32 values, got ${JSON.stringify(state)}`);
    }
    if (state.every((v) => v === 0)) throw new Error('Rng state must not be all zero');
    this.s.set(state);
  }
}
