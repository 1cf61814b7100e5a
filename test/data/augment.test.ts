import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import {
  applyTransform,
  checkTransform,
  flipHorizontal,
  padCropFlip,
  randomResizedCrop,
  resizeBilinear,
  resizeCenterCrop,
  sampleResizedCropBox,
  shorterSideSize,
  transformOutputShape,
} from '../../lib/data';
import type { ImageShape } from '../../lib/data';
import { centreCropOffset } from '../../lib/data/resize';

/** A random uint8 image. */
function randomImage(shape: ImageShape, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.int(256));
}

/** Reference: the image zero-padded by p, as a [h + 2p][w + 2p][c] nested array. */
function padded(pixels: Uint8Array, [h, w, c]: ImageShape, p: number): number[][][] {
  return Array.from({ length: h + 2 * p }, (_, y) =>
    Array.from({ length: w + 2 * p }, (_, x) =>
      Array.from({ length: c }, (_, ch) => (y >= p && y < h + p && x >= p && x < w + p ? pixels[((y - p) * w + (x - p)) * c + ch] : 0)),
    ),
  );
}

/** Reference: window (top, left) of size h x w of a nested image, mirrored if `flip`, flattened HWC. */
function windowOf(img: number[][][], top: number, left: number, h: number, w: number, flip: boolean): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    const row = img[top + y].slice(left, left + w);
    if (flip) row.reverse();
    for (const px of row) out.push(...px);
  }
  return out;
}

describe('data/augment', () => {
  it('padCropFlip equals a window of the zero-padded image (mirrored when flipped), drawn as documented', () => {
    const shape: ImageShape = [6, 5, 3];
    const img = randomImage(shape, 1);
    const ref = padded(img, shape, 2);
    for (let seed = 0; seed < 30; seed++) {
      const out = applyTransform(img, shape, padCropFlip(2, true), new Rng(seed));
      assert.deepEqual(out.shape, shape);
      const draw = new Rng(seed);
      const top = draw.int(5);
      const left = draw.int(5);
      const flip = draw.uniform() < 0.5;
      assert.deepEqual(Array.from(out.pixels), windowOf(ref, top, left, 6, 5, flip), `seed ${seed}`);
    }
  });

  it('padCropFlip reaches every offset and both flips (uniform over {0..2p}^2 x {flip, no flip})', () => {
    const shape: ImageShape = [4, 4, 1];
    const img = Uint8Array.from({ length: 16 }, (_, i) => i + 1); // distinct non-zero values
    const ref = padded(img, shape, 1);
    const candidates = new Map<string, string>();
    for (let t = 0; t < 3; t++) for (let l = 0; l < 3; l++) for (const f of [false, true]) candidates.set(windowOf(ref, t, l, 4, 4, f).join(','), `${t},${l},${f}`);
    assert.equal(candidates.size, 18, 'all 18 outcomes are distinguishable');
    const seen = new Set<string>();
    const rng = new Rng(7);
    for (let i = 0; i < 400; i++) {
      const key = candidates.get(Array.from(applyTransform(img, shape, padCropFlip(1, true), rng).pixels).join(','));
      assert.ok(key, 'output is a window of the padded image');
      seen.add(key);
    }
    assert.equal(seen.size, 18);
    const noFlip = applyTransform(img, shape, padCropFlip(0, false), rng);
    assert.deepEqual(Array.from(noFlip.pixels), Array.from(img), 'padding 0 without flip is the identity');
  });

  it('flipHorizontal is an exact mirror', () => {
    const shape: ImageShape = [3, 7, 2];
    const img = randomImage(shape, 3);
    const out = flipHorizontal(img, shape);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 7; x++) for (let c = 0; c < 2; c++) assert.equal(out[(y * 7 + x) * 2 + c], img[(y * 7 + (6 - x)) * 2 + c]);
    assert.deepEqual(flipHorizontal(out, shape), img);
  });

  it('random-resized-crop boxes stay inside the image with area and aspect in range (or the centred fallback)', () => {
    const scale: [number, number] = [0.08, 1];
    const rng = new Rng(11);
    // An asymmetric ratio range catches swapped width and height.
    for (const ratio of [[3 / 4, 4 / 3], [1.5, 2.5]] as [number, number][]) {
      for (const [h, w] of [
        [64, 64],
        [375, 500],
        [31, 17],
      ]) {
        let fallbacks = 0;
        const placement: number[] = []; // offset / free room, uniform in [0, 1] for sampled crops
        for (let i = 0; i < 300; i++) {
          const box = sampleResizedCropBox(rng, h, w, scale, ratio);
          const msg = `${h}x${w} ratio ${ratio}: ${JSON.stringify(box)}`;
          assert.ok(box.top >= 0 && box.left >= 0 && box.top + box.height <= h && box.left + box.width <= w, msg);
          // Sampled crops: width and height are real numbers rounded to integers, so they lie within
          // 0.5 of a crop with area fraction in `scale` and aspect in `ratio`.
          const { width: cw, height: ch } = box;
          const sampled = (cw + 0.5) * (ch + 0.5) >= scale[0] * h * w && (cw + 0.5) / (ch - 0.5) >= ratio[0] && (cw - 0.5) / (ch + 0.5) <= ratio[1];
          if (sampled && ch < h) placement.push(box.top / (h - ch));
          if (sampled && cw < w) placement.push(box.left / (w - cw));
          if (!sampled) {
            // Fallback: the full height or width, the other side clamped to the ratio range, centred.
            fallbacks++;
            assert.ok(cw === w || ch === h, msg);
            assert.equal(box.top, Math.floor((h - ch) / 2), msg);
            assert.equal(box.left, Math.floor((w - cw) / 2), msg);
          }
        }
        assert.ok(fallbacks < 300, `${h}x${w}: some crops are sampled`);
        const mean = placement.reduce((a, b) => a + b, 0) / placement.length;
        if (h === 375) assert.ok(Math.abs(mean - 0.5) < 0.1, `placement is uniform (mean ${mean})`);
      }
    }
    // A 10 x 200 strip admits no crop of area >= 8% within the ratio range: torchvision's fallback
    // is the whole height, width round(10 * 4/3) = 13, centred.
    assert.deepEqual(sampleResizedCropBox(new Rng(1), 10, 200, scale, [3 / 4, 4 / 3]), { top: 0, left: 93, height: 10, width: 13 });
  });

  it('random-resized crop: same seed -> same output, output shape = size, different seeds differ', () => {
    const shape: ImageShape = [40, 50, 3];
    const img = randomImage(shape, 5);
    const spec = randomResizedCrop(16);
    const a = applyTransform(img, shape, spec, new Rng(3));
    const b = applyTransform(img, shape, spec, new Rng(3));
    const c = applyTransform(img, shape, spec, new Rng(4));
    assert.deepEqual(a.shape, [16, 16, 3]);
    assert.deepEqual(a.pixels, b.pixels);
    assert.notDeepEqual(a.pixels, c.pixels);
    assert.deepEqual(transformOutputShape(spec, shape), [16, 16, 3]);
  });

  it('resizeBilinear: identity at the same size, exact linear interpolation when upscaling a ramp', () => {
    const shape: ImageShape = [5, 6, 2];
    const img = randomImage(shape, 9);
    const full = { top: 0, left: 0, height: 5, width: 6 };
    assert.deepEqual(resizeBilinear(img, shape, full, 5, 6), img);
    // Ramp f(x) = 20 x + 10 along width, upscaled 2x: output u samples at x = (u + 0.5) / 2 - 0.5;
    // away from the borders (where the filter is cut and renormalised) the triangle filter is
    // linear interpolation, so out = 20 ((u + 0.5) / 2 - 0.5) + 10 exactly.
    const ramp = Uint8Array.from({ length: 8 }, (_, x) => 20 * x + 10);
    const up = resizeBilinear(ramp, [1, 8, 1], { top: 0, left: 0, height: 1, width: 8 }, 1, 16);
    for (let u = 1; u < 15; u++) assert.equal(up[u], Math.floor(20 * ((u + 0.5) / 2 - 0.5) + 10 + 0.5), `u=${u}`);
  });

  it('resizeBilinear matches a float64 two-dimensional re-implementation of the PIL filter (box and window)', () => {
    const shape: ImageShape = [23, 31, 3];
    const img = randomImage(shape, 13);
    // Reference weights straight from the definition: triangle of half-width f = max(scale, 1).
    const weights = (length: number, out: number, u: number): Map<number, number> => {
      const s = length / out;
      const f = Math.max(s, 1);
      const c = (u + 0.5) * s;
      const m = new Map<number, number>();
      let total = 0;
      for (let x = 0; x < length; x++) {
        const wgt = Math.max(0, 1 - Math.abs(x + 0.5 - c) / f);
        if (wgt > 0 && x >= Math.floor(c - f + 0.5) && x < Math.floor(c + f + 0.5)) {
          m.set(x, wgt);
          total += wgt;
        }
      }
      for (const [x, wgt] of m) m.set(x, wgt / total);
      return m;
    };
    const box = { top: 3, left: 5, height: 17, width: 22 };
    for (const [oh, ow] of [
      [7, 9],
      [40, 13],
    ]) {
      const window = { top: 1, left: 2, height: oh - 2, width: ow - 3 };
      const got = resizeBilinear(img, shape, box, oh, ow, window);
      let worst = 0;
      for (let v = 0; v < window.height; v++) {
        const wy = weights(box.height, oh, v + window.top);
        for (let u = 0; u < window.width; u++) {
          const wx = weights(box.width, ow, u + window.left);
          for (let c = 0; c < 3; c++) {
            let acc = 0;
            for (const [y, a] of wy) for (const [x, b] of wx) acc += a * b * img[((box.top + y) * 31 + box.left + x) * 3 + c];
            worst = Math.max(worst, Math.abs(got[(v * window.width + u) * 3 + c] - acc));
          }
        }
      }
      assert.ok(worst <= 0.5 + 1e-3, `max |ours - float64 reference| = ${worst} for ${oh}x${ow}`);
    }
  });

  it('resizeCenterCrop follows torchvision: shorter side, truncated long side, centre offset rounded half to even', () => {
    assert.deepEqual(shorterSideSize(300, 400, 256), [256, 341]);
    assert.deepEqual(shorterSideSize(500, 375, 256), [341, 256]);
    assert.equal(centreCropOffset(341, 224), 58); // 58.5 -> 58 (Python round)
    assert.equal(centreCropOffset(343, 224), 60); // 59.5 -> 60
    const shape: ImageShape = [30, 40, 3];
    const img = randomImage(shape, 17);
    const out = applyTransform(img, shape, resizeCenterCrop(20, 16), new Rng(0));
    assert.deepEqual(out.shape, [16, 16, 3]);
    const [rh, rw] = shorterSideSize(30, 40, 20); // [20, 26]
    const resized = resizeBilinear(img, shape, { top: 0, left: 0, height: 30, width: 40 }, rh, rw);
    const top = centreCropOffset(rh, 16);
    const left = centreCropOffset(rw, 16);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16 * 3; x++) assert.equal(out.pixels[y * 48 + x], resized[(top + y) * rw * 3 + left * 3 + x]);
    }
  });

  it('checkTransform rejects malformed specs', () => {
    assert.throws(() => padCropFlip(-1), /padding/);
    assert.throws(() => randomResizedCrop(8, { scale: [0.5, 1.5] }), /scale\[1\]/);
    assert.throws(() => resizeCenterCrop(100, 224), /resize/);
    assert.throws(() => checkTransform({ kind: 'padCropFlip', padding: 4, flip: true, pad: 2 } as never), /unknown option 'pad'/);
    assert.throws(() => checkTransform({ kind: 'rotate' } as never), /unknown kind 'rotate'/);
  });
});
