import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as jpeg from 'jpeg-js';
import * as path from 'path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import {
  BatchLoader, decodeImageFile, flipHorizontal, ImageDataset, loadImageNetFolder, loadTinyImageNet, randomResizedCrop, resizeBilinear, resizeCenterCrop, sampleResizedCropBox,
} from '../../lib/data';
import { assembleBatch } from '../../lib/data/batch';
import { memorySource } from '../../lib/data/dataset';
import { transformImageFile } from '../../lib/data/file-transform';
import { decodeAll } from '../../lib/data/folder-scan';
import { cropPixels, decodeImage, decodeWithSharp, imageHeader, nativeJpegApplies } from '../../lib/data/image-file';
import { dctScale, nativeJpegStatus } from '../../lib/data/native-jpeg';
import { Rng } from '../../lib/random';
import type { FileSource } from '../../lib/data';
import { removeDir, tempDir } from './helpers';

type RGB = [number, number, number];

/** A flat-colour JPEG (quality 95). */
function writeJpeg(file: string, width: number, height: number, rgb: RGB): void {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...rgb, 255], p * 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ data, width, height }, 95).data);
}

/** A flat-colour PNG (lossless). */
function writePng(file: string, width: number, height: number, rgb: RGB): void {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) png.data.set([...rgb, 255], p * 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

/** Largest |pixel - colour| over an HWC uint8 image. */
function maxDeviation(pixels: ArrayLike<number>, rgb: RGB): number {
  let worst = 0;
  for (let i = 0; i < pixels.length; i++) worst = Math.max(worst, Math.abs(pixels[i] - rgb[i % 3]));
  return worst;
}

const colourOf = (k: number, i: number): RGB => [40 + 60 * k, 200 - 30 * i, 90 + 20 * ((k + i) % 3)];

describe('data/folders: image decoding', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  /** A photo-like test pattern (gradients and a ring) of h x w RGB bytes. */
  const pattern = (w: number, h: number) => {
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const ring = Math.abs(Math.hypot(x - w / 2, y - h / 3) - h / 4) < 3 ? 60 : 0;
        rgb.set([60 + ((130 * x) / w) + ring, 70 + ((100 * y) / h), 110 + ((40 * (x + y)) / (w + h)) - ring / 2], (y * w + x) * 3);
      }
    }
    return rgb;
  };
  const rgba = (rgb: Uint8Array, alpha: (p: number) => number) => {
    const out = Buffer.alloc((rgb.length / 3) * 4);
    for (let p = 0; p < rgb.length / 3; p++) out.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], alpha(p)], 4 * p);
    return out;
  };
  const stats = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let max = 0;
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      max = Math.max(max, d);
      sum += d;
    }
    return { max, mean: sum / a.length };
  };

  it('JPEG (colour and greyscale) decodes to the pixels of an independent decoder (jpeg-js); a PNG named .JPEG with alpha to its RGB exactly', async () => {
    const w = 37;
    const h = 23;
    const colour = path.join(dir, 'colour.jpg');
    fs.writeFileSync(colour, jpeg.encode({ data: rgba(pattern(w, h), () => 255), width: w, height: h }, 95).data);
    const a = await decodeImageFile(colour);
    assert.deepEqual(a.shape, [h, w, 3]);
    const ref = jpeg.decode(fs.readFileSync(colour), { useTArray: true, formatAsRGBA: false });
    const da = stats(a.pixels, ref.data);
    // Both are IDCT + chroma upsampling of the same coefficients; they differ in rounding and in the upsampling filter.
    assert.ok(da.max <= 12 && da.mean < 1.5, `JPEG vs jpeg-js ${JSON.stringify(da)}`);

    const grey = path.join(dir, 'grey.jpg');
    await sharp(Buffer.from(pattern(w, h)), { raw: { width: w, height: h, channels: 3 } }).toColourspace('b-w').jpeg({ quality: 95 }).toFile(grey);
    const g = await decodeImageFile(grey);
    assert.deepEqual(g.shape, [h, w, 3]);
    const gref = jpeg.decode(fs.readFileSync(grey), { useTArray: true, formatAsRGBA: false });
    assert.ok(stats(g.pixels, gref.data).max <= 1, `greyscale vs jpeg-js ${JSON.stringify(stats(g.pixels, gref.data))}`);
    for (let p = 0; p < w * h; p++) assert.ok(g.pixels[3 * p] === g.pixels[3 * p + 1] && g.pixels[3 * p] === g.pixels[3 * p + 2], 'grey replicated to RGB');

    const png = new PNG({ width: w, height: h });
    rgba(pattern(w, h), (p) => p % 256).copy(png.data);
    const pngFile = path.join(dir, 'alpha.JPEG');
    fs.writeFileSync(pngFile, PNG.sync.write(png));
    const b = await decodeImageFile(pngFile);
    assert.deepEqual(b.shape, [h, w, 3]);
    const pref = PNG.sync.read(fs.readFileSync(pngFile));
    const expected = Uint8Array.from({ length: w * h * 3 }, (_, i) => pref.data[Math.floor(i / 3) * 4 + (i % 3)]);
    assert.deepEqual(b.pixels, expected, 'alpha dropped, not composited');
    const luma = await decodeImageFile(pngFile, 1);
    assert.deepEqual(luma.shape, [h, w, 1]);
    for (const p of [0, 17, w * h - 1]) {
      assert.equal(luma.pixels[p], Math.round((299 * expected[3 * p] + 587 * expected[3 * p + 1] + 114 * expected[3 * p + 2]) / 1000));
    }
  });

  it('a CMYK JPEG decodes to the sRGB colours it was made from (colour-managed, unlike the naive formula)', async () => {
    const w = 40;
    const h = 30;
    const source = pattern(w, h);
    const cmyk = path.join(dir, 'cmyk.JPEG');
    await sharp(Buffer.from(source), { raw: { width: w, height: h, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(cmyk);
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const c = await decodeImageFile(cmyk);
    assert.deepEqual(c.shape, [h, w, 3]);
    const ours = stats(c.pixels, source);
    const naive = stats(jpeg.decode(fs.readFileSync(cmyk), { useTArray: true, formatAsRGBA: false }).data, source);
    assert.ok(ours.mean < 6 && ours.max <= 20, `CMYK round trip ${JSON.stringify(ours)}`);
    assert.ok(naive.mean > 2 * ours.mean, `the naive conversion (jpeg-js) is further off: ${JSON.stringify(naive)}`);
  });

  it('crop + resize while decoding with sharp matches the PIL-semantics resize of the same box (both routes), and follows the documented draws', async () => {
    // Lossless source: the reference resizes the exact pixels.
    const w = 900;
    const h = 700;
    const source = pattern(w, h);
    const pngFile = path.join(dir, 'big.png');
    await sharp(Buffer.from(source), { raw: { width: w, height: h, channels: 3 } }).png().toFile(pngFile);
    const bytes = fs.readFileSync(pngFile);
    const header = await imageHeader(bytes, pngFile);
    assert.deepEqual(header, { height: h, width: w, format: 'png', space: 'srgb', hasAlpha: false, hasProfile: false });
    const box = { top: 101, left: 233, height: 301, width: 377 };
    const exact = await decodeImage(bytes, header, 3, { kind: 'cropResize', box, outHeight: 64, outWidth: 48, flip: false }, pngFile);
    assert.deepEqual(exact.shape, [64, 48, 3]);
    const ref = resizeBilinear(source, [h, w, 3], box, 64, 48);
    const de = stats(exact.pixels, ref);
    assert.ok(de.max <= 8 && de.mean < 0.5, `crop-then-resize vs resizeBilinear ${JSON.stringify(de)}`);
    // A shifted box gives other pixels: the comparison can tell boxes apart.
    const shifted = resizeBilinear(source, [h, w, 3], { ...box, left: box.left + 20 }, 64, 48);
    assert.ok(stats(exact.pixels, shifted).mean > 4 * de.mean + 1);

    // Resize + centre window (the evaluation transform): the window of the whole image resized.
    const window = { top: 11, left: 40, height: 64, width: 64 };
    const evalOut = await decodeImage(bytes, header, 3, { kind: 'resizeWindow', outHeight: 86, outWidth: 110, window }, pngFile);
    const dw = stats(evalOut.pixels, resizeBilinear(source, [h, w, 3], { top: 0, left: 0, height: h, width: w }, 86, 110, window));
    assert.ok(dw.max <= 8 && dw.mean < 0.5, `resize + window vs resizeBilinear ${JSON.stringify(dw)}`);

    // Shrink >= 3 on a JPEG (sharp's route when TensorFlow's kernels are not used): the
    // resize-then-window route, within half an output pixel of the box.
    const jpegFile = path.join(dir, 'big.jpg');
    await sharp(Buffer.from(source), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(jpegFile);
    const jbytes = fs.readFileSync(jpegFile);
    const jheader = await imageHeader(jbytes, jpegFile);
    const big = { top: 40, left: 61, height: 600, width: 800 };
    const shrunk = await decodeWithSharp(jbytes, jheader, { kind: 'cropResize', box: big, outHeight: 100, outWidth: 120, flip: false }, jpegFile);
    const ds = stats(shrunk.pixels, resizeBilinear(source, [h, w, 3], big, 100, 120));
    assert.ok(ds.max <= 24 && ds.mean < 1, `shrink-on-load route vs resizeBilinear ${JSON.stringify(ds)}`);
    // flip: true is the exact mirror of the unflipped output, on both routes.
    const mirrored = await decodeWithSharp(jbytes, jheader, { kind: 'cropResize', box: big, outHeight: 100, outWidth: 120, flip: true }, jpegFile);
    assert.deepEqual(mirrored.pixels, flipHorizontal(shrunk.pixels, [100, 120, 3]));
    const mirroredExact = await decodeImage(bytes, header, 3, { kind: 'cropResize', box, outHeight: 64, outWidth: 48, flip: true }, pngFile);
    assert.deepEqual(mirroredExact.pixels, flipHorizontal(exact.pixels, [64, 48, 3]));

    // The file transform draws box then flip from the rng as sampleResizedCropBox / applyTransform do.
    const spec = randomResizedCrop(32);
    for (const seed of [1, 2, 3, 4]) {
      const out = await transformImageFile(pngFile, 3, spec, new Rng(seed));
      assert.ok('pixels' in out, 'a PNG is decoded by sharp');
      const rng = new Rng(seed);
      const drawn = sampleResizedCropBox(rng, h, w, [0.08, 1], [3 / 4, 4 / 3]);
      const resized = resizeBilinear(source, [h, w, 3], drawn, 32, 32);
      const expected = rng.uniform() < 0.5 ? flipHorizontal(resized, [32, 32, 3]) : resized;
      const d = stats(out.pixels, expected);
      assert.ok(d.max <= 8 && d.mean < 0.5, `seed ${seed}: ${JSON.stringify(d)}`);
    }
  });

  it("TensorFlow's JPEG kernels: a fixed crop is close to sharp's and to the PIL-semantics resize, the identity crop is sharp's decode exactly, and only plain complete JPEG crops go there", async function () {
    const status = nativeJpegStatus();
    if (!status.available) {
      console.warn(`    SKIPPED: TensorFlow's JPEG kernels are not available here (${status.reason}); only the sharp decoder is tested`);
      this.skip();
    }
    const w = 900;
    const h = 700;
    const source = pattern(w, h);
    const raw = () => sharp(Buffer.from(source), { raw: { width: w, height: h, channels: 3 } });
    const file = path.join(dir, 'tf.jpg');
    fs.writeFileSync(file, await raw().jpeg({ quality: 95 }).toBuffer());
    const bytes = fs.readFileSync(file);
    const header = await imageHeader(bytes, file);
    const decoded = (await decodeWithSharp(bytes, header, { kind: 'whole' }, file)).pixels;
    const crop = (box: { top: number; left: number; height: number; width: number }, flip = false) => ({ kind: 'cropResize' as const, box, outHeight: 224, outWidth: 224, flip });

    // A crop of the whole image at its own size: TensorFlow's decode (accurate integer IDCT) is libvips's, byte for byte.
    const identity = crop({ top: 0, left: 0, height: h, width: w });
    assert.ok(nativeJpegApplies(bytes, header, identity));
    const same = await decodeImage(bytes, header, 3, { ...identity, outHeight: h, outWidth: w }, file);
    assert.ok(Buffer.from(same.pixels).equals(Buffer.from(decoded)), 'identity crop equals the whole decode');

    // A box decoded at full scale (r = 1) and one at half scale (r = 2), against the PIL-semantics
    // resize of the decoded pixels (the reference) and sharp's crop + resize of the same box.
    for (const [box, r] of [[{ top: 101, left: 233, height: 301, width: 377 }, 1], [{ top: 40, left: 61, height: 600, width: 800 }, 2]] as const) {
      assert.equal(dctScale(box, 224, 224), r);
      const ours = await decodeImage(bytes, header, 3, crop(box), file);
      assert.deepEqual(ours.shape, [224, 224, 3]);
      const reference = resizeBilinear(decoded, [h, w, 3], box, 224, 224);
      const dRef = stats(ours.pixels, reference);
      const dSharp = stats(ours.pixels, (await decodeWithSharp(bytes, header, crop(box), file)).pixels);
      // The box with its edges on the 1/r-scale grid (nearest scaled pixel), as native-jpeg decodes it.
      const edge = (x: number) => r * Math.round(x / r);
      const snapped = { top: edge(box.top), left: edge(box.left), height: edge(box.top + box.height) - edge(box.top), width: edge(box.left + box.width) - edge(box.left) };
      const dSnapped = stats(ours.pixels, resizeBilinear(decoded, [h, w, 3], snapped, 224, 224));
      // Bilinear without widening the kernel for the downscale, on a DCT-scaled decode for r = 2:
      // close, not equal. The pattern's ring has edges of 60 levels per pixel, so the half-pixel
      // shift of a snapped edge (r = 2) and the missing antialiasing show in the maximum.
      const maxOff = r === 1 ? 12 : 40;
      assert.ok(dRef.mean < 0.5 && dRef.max <= maxOff, `r = ${r}: TensorFlow vs resizeBilinear ${JSON.stringify(dRef)}`);
      assert.ok(dSharp.mean < 0.5 && dSharp.max <= maxOff, `r = ${r}: TensorFlow vs sharp ${JSON.stringify(dSharp)}`);
      assert.ok(dSnapped.mean < 0.3 && dSnapped.max <= 24, `r = ${r}: TensorFlow vs resizeBilinear of the snapped box ${JSON.stringify(dSnapped)}`);
      const shifted = stats(ours.pixels, resizeBilinear(decoded, [h, w, 3], { ...box, left: box.left + 12 }, 224, 224));
      assert.ok(shifted.mean > 2 * dRef.mean + 0.5, `a box 12 pixels off is told apart: ${JSON.stringify(shifted)} vs ${JSON.stringify(dRef)}`);
      const mirrored = await decodeImage(bytes, header, 3, crop(box, true), file);
      assert.deepEqual(mirrored.pixels, flipHorizontal(ours.pixels, [224, 224, 3]));
    }

    // Greyscale: R = G = B, as sharp.
    const greyFile = path.join(dir, 'tf-grey.jpg');
    const greyBytes = await raw().toColourspace('b-w').jpeg({ quality: 95 }).toBuffer();
    fs.writeFileSync(greyFile, greyBytes);
    const greyHeader = await imageHeader(greyBytes, greyFile);
    const box = { top: 50, left: 70, height: 400, width: 500 };
    assert.ok(nativeJpegApplies(greyBytes, greyHeader, crop(box)));
    const grey = await decodeImage(greyBytes, greyHeader, 3, crop(box), greyFile);
    for (let p = 0; p < 224 * 224; p++) assert.ok(grey.pixels[3 * p] === grey.pixels[3 * p + 1] && grey.pixels[3 * p] === grey.pixels[3 * p + 2], 'grey replicated to RGB');
    const dGrey = stats(grey.pixels, (await decodeWithSharp(greyBytes, greyHeader, crop(box), greyFile)).pixels);
    assert.ok(dGrey.mean < 1 && dGrey.max <= 12, `grey: TensorFlow vs sharp ${JSON.stringify(dGrey)}`);

    // The rest goes to sharp: other formats, CMYK, an ICC profile, no end-of-image marker, other operations.
    const png = await raw().png().toBuffer();
    const cmyk = await raw().toColourspace('cmyk').jpeg().toBuffer();
    const icc = await raw().withIccProfile('p3').jpeg().toBuffer();
    const cut = bytes.subarray(0, bytes.length - 100);
    for (const [name, b] of Object.entries({ png, cmyk, icc, cut })) {
      assert.equal(nativeJpegApplies(b, await imageHeader(b, name), crop(box)), false, name);
    }
    assert.equal(nativeJpegApplies(bytes, header, { kind: 'whole' }), false);

    // The batch writer maps TensorFlow's float crops in one pass to exactly what the documented
    // mapping gives on their uint8 pixels (rounded half up, mirrored when flipped).
    const spec = randomResizedCrop(224);
    const files: FileSource = { kind: 'files', files: [file, greyFile, file, file], labels: Int32Array.of(0, 1, 2, 3), channels: 3 };
    const n = 224 * 224 * 3;
    let flipped = 0;
    for (const normalization of [undefined, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }]) {
      const { x } = await assembleBatch(files, { indices: Int32Array.of(0, 1, 2, 3), rngState: new Rng(7).getState(), transform: spec, shape: [224, 224, 3], normalization });
      const rng = new Rng(7);
      for (let b = 0; b < 4; b++) {
        const out = await transformImageFile(files.files[b], 3, spec, rng);
        assert.ok('values' in out, 'a TensorFlow crop');
        flipped += out.flip ? 1 : 0;
        const pixels = cropPixels(out);
        for (let i = 0; i < n; i++) {
          const c = i % 3;
          const v = pixels[i];
          const expected = normalization ? Math.fround(v * (1 / (255 * normalization.std[c])) - normalization.mean[c] / normalization.std[c]) : Math.fround(v / 255);
          if (x[b * n + i] !== expected) assert.fail(`item ${b} value ${i}: ${x[b * n + i]} vs ${expected}`);
        }
      }
    }
    assert.ok(flipped > 0 && flipped < 8, `both flipped and unflipped crops were checked (${flipped} of 8 flipped)`);
    assert.equal(nativeJpegApplies(bytes, header, { kind: 'resizeWindow', outHeight: 256, outWidth: 329, window: { top: 16, left: 52, height: 224, width: 224 } }), false);
  });

  it('imageHeader (JPEG and PNG headers parsed directly) agrees with libvips on size, format, colour space, alpha and ICC profile', async () => {
    const w = 21;
    const h = 13;
    const raw = () => sharp(Buffer.from(pattern(w, h)), { raw: { width: w, height: h, channels: 3 } });
    const cases: Record<string, Promise<Buffer>> = {
      'jpeg': raw().jpeg().toBuffer(),
      'jpeg with icc profile': raw().withIccProfile('p3').jpeg().toBuffer(),
      'png with icc profile': raw().withIccProfile('p3').png().toBuffer(),
      'jpeg progressive': raw().jpeg({ progressive: true }).toBuffer(),
      'jpeg grey': raw().toColourspace('b-w').jpeg().toBuffer(),
      'jpeg cmyk': raw().toColourspace('cmyk').jpeg().toBuffer(),
      'jpeg with exif': raw().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      'png rgb': raw().png().toBuffer(),
      'png rgba': raw().ensureAlpha(0.5).png().toBuffer(),
      'png grey': raw().toColourspace('b-w').png().toBuffer(),
      'png 16-bit': raw().toColourspace('rgb16').png().toBuffer(),
      'png palette': raw().png({ palette: true }).toBuffer(),
      'webp': raw().webp().toBuffer(),
    };
    for (const [name, pending] of Object.entries(cases)) {
      const bytes = await pending;
      const meta = await sharp(bytes).metadata();
      const expected = { height: h, width: w, format: meta.format, space: meta.space, hasAlpha: meta.hasAlpha, hasProfile: meta.hasProfile };
      assert.deepEqual(await imageHeader(bytes, name), expected, name);
    }
  });

  it('a corrupt, truncated or missing file is an error naming the file', async () => {
    const garbage = path.join(dir, 'garbage.JPEG');
    fs.writeFileSync(garbage, Buffer.from('this is not an image at all'));
    await assert.rejects(decodeImageFile(garbage), (e: Error) => e.message.includes(garbage) && /unsupported image format/.test(e.message));
    writeJpeg(path.join(dir, 'whole.jpg'), 64, 64, [10, 20, 30]);
    const truncated = path.join(dir, 'truncated.jpg');
    const whole = fs.readFileSync(path.join(dir, 'whole.jpg'));
    fs.writeFileSync(truncated, whole.subarray(0, whole.length - 200));
    await assert.rejects(decodeImageFile(truncated), (e: Error) => e.message.includes(truncated));
    await assert.rejects(decodeImageFile(path.join(dir, 'absent.jpg')), (e: Error) => e.message.includes(path.join(dir, 'absent.jpg')));
  });

  it('through the worker pool, a truncated JPEG (with or without an end marker) and a non-image named .JPEG fail with the file name', async () => {
    writeJpeg(path.join(dir, 'ok.JPEG'), 40, 30, [1, 2, 3]);
    const whole = fs.readFileSync(path.join(dir, 'ok.JPEG'));
    const truncated = path.join(dir, 'cut.JPEG');
    fs.writeFileSync(truncated, whole.subarray(0, whole.length - 100));
    const text = path.join(dir, 'text.JPEG');
    fs.writeFileSync(text, 'plain text, not an image');
    // Cut short but ending in an end-of-image marker: it passes the TensorFlow route's checks,
    // TensorFlow fails on it, and sharp's decode fails naming the file.
    const cutWithEnd = path.join(dir, 'cut-with-end.JPEG');
    fs.writeFileSync(cutWithEnd, Buffer.concat([whole.subarray(0, whole.length - 100), Buffer.from([0xff, 0xd9])]));
    for (const bad of [truncated, text, cutWithEnd]) {
      const ds = new ImageDataset({
        name: 'broken', source: { kind: 'files', files: [path.join(dir, 'ok.JPEG'), bad], labels: Int32Array.from([0, 1]), channels: 3 },
        imageShape: [16, 16, 3], classNames: ['a', 'b'], transforms: { train: randomResizedCrop(16), eval: resizeCenterCrop(20, 16) },
      });
      const loader = new BatchLoader(ds, { batchSize: 2, shuffle: false, transform: ds.transforms.train, workers: 1 });
      try {
        await assert.rejects(async () => {
          for await (const { x, y } of loader) tf.dispose([x, y]);
        }, (e: Error) => e.message.includes(bad));
      } finally {
        await loader.close();
      }
    }
  });

  it("each loader worker runs its own copy of TensorFlow's addon (no shared attribute-name set), removed from disk once loaded", async function () {
    const status = nativeJpegStatus();
    if (!status.available || process.platform !== 'linux') {
      console.warn(`    SKIPPED: needs TensorFlow's JPEG kernels and /proc/self/maps (${status.available ? process.platform : status.reason})`);
      this.skip();
    }
    this.timeout(60_000);
    for (let i = 0; i < 3; i++) writeJpeg(path.join(dir, `copy-${i}.JPEG`), 60, 40, colourOf(i, 1));
    const files = [0, 1, 2].map((i) => path.join(dir, `copy-${i}.JPEG`));
    const ds = new ImageDataset({
      name: 'copies', source: { kind: 'files', files, labels: Int32Array.from([0, 1, 2]), channels: 3 },
      imageShape: [16, 16, 3], classNames: ['a', 'b', 'c'], transforms: { train: randomResizedCrop(16), eval: resizeCenterCrop(20, 16) },
    });
    // The reference: the files this process has mapped, as the kernel lists them (workers of
    // earlier tests keep theirs: Node never unloads an addon).
    const mappedAddons = () => new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((f) => f.includes('tfjs_binding')));
    const before = mappedAddons();
    const loader = new BatchLoader(ds, { batchSize: 1, shuffle: false, transform: ds.transforms.train, workers: 2 });
    try {
      for await (const { x, y } of loader) tf.dispose([x, y]);
      const after = mappedAddons();
      const copies = [...after].filter((f) => !before.has(f) && path.basename(f).startsWith('.alignmix-tfjs_binding-'));
      assert.equal(copies.length, 2, [...after].join('\n'));
      for (const copy of copies) assert.match(copy, / \(deleted\)$/);
      assert.ok([...after].some((f) => path.basename(f) === 'tfjs_binding.node'), 'the original, loaded on this thread');
    } finally {
      await loader.close();
    }
  });

  it('normalisation writes (v / 255 - mean_c) / std_c (torchvision ToTensor + Normalize)', async () => {
    const pixels = Uint8Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => (i * 37) % 256);
    const labels = [0, 1];
    const src = memorySource(pixels, labels, [3, 4, 3]);
    const normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const { x } = await assembleBatch(src, { indices: Int32Array.of(1, 0), rngState: new Rng(0).getState(), transform: { kind: 'none' }, shape: [3, 4, 3], normalization });
    const n = 36;
    [1, 0].forEach((item, b) => {
      for (let i = 0; i < n; i++) {
        const c = i % 3;
        const expected = (pixels[item * n + i] / 255 - normalization.mean[c]) / normalization.std[c];
        assert.ok(Math.abs(x[b * n + i] - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `item ${item} value ${i}: ${x[b * n + i]} vs ${expected}`);
      }
    });
    await assert.rejects(assembleBatch(src, { indices: Int32Array.of(0), rngState: new Rng(0).getState(), transform: { kind: 'none' }, shape: [3, 4, 3], normalization: { mean: [0], std: [1] } }), /1 means and 1 stds, expected 3/);
    // The loader's option is the same mapping (one code path).
    const ds = new ImageDataset({ name: 'tiny', source: src, imageShape: [3, 4, 3], classNames: ['a', 'b'], transforms: { train: { kind: 'none' }, eval: { kind: 'none' } } });
    const loader = new BatchLoader(ds, { batchSize: 2, shuffle: false, workers: 0, normalization });
    for await (const batch of loader) {
      const data = await batch.x.data();
      assert.ok(Array.from(data).every((v, i) => Math.abs(v - (pixels[i] / 255 - normalization.mean[i % 3]) / normalization.std[i % 3]) <= 1e-6 * 3));
      tf.dispose([batch.x, batch.y]);
    }
    assert.throws(() => new BatchLoader(ds, { batchSize: 2, normalization: { mean: [0.5, 0.5, 0.5], std: [0.2, 0, 0.2] } }), /BatchLoader: normalization needs finite means and finite stds > 0/);

  });

  it('parallel decode in worker threads writes the same bytes as decoding on this thread', async () => {
    const files = [0, 1, 2].map((i) => {
      const f = path.join(dir, `p${i}.jpg`);
      writeJpeg(f, 8, 8, colourOf(i, i));
      return f;
    });
    // More items than one worker chunk, so several tasks run in two workers.
    const list = Array.from({ length: 600 }, (_, i) => files[(i * 7) % 3]);
    const source: FileSource = { kind: 'files', files: list, labels: new Int32Array(600), channels: 3 };
    const inline = await decodeAll(source, [8, 8, 3], 0);
    const threaded = await decodeAll(source, [8, 8, 3], 2);
    assert.ok(Buffer.from(inline).equals(Buffer.from(threaded)));
    assert.ok(maxDeviation(threaded.subarray(599 * 192, 600 * 192), colourOf((599 * 7) % 3, (599 * 7) % 3)) <= 4);
  });
});

describe('data/folders: TinyImageNet', () => {
  let root: string;
  const wnids = ['n0300', 'n0100', 'n0200']; // wnids.txt order; classes are sorted: n0100, n0200, n0300
  before(() => {
    root = tempDir();
    const dir = path.join(root, 'tiny-imagenet-200');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'wnids.txt'), wnids.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'words.txt'), 'n0100\tgoldfish, Carassius auratus\nn0200\tcat\nn0300\tteapot, pot\nn9999\tunused\n');
    const sorted = [...wnids].sort();
    sorted.forEach((wnid, k) => {
      for (let i = 0; i < 4; i++) writeJpeg(path.join(dir, 'train', wnid, 'images', `${wnid}_${i}.JPEG`), 64, 64, colourOf(k, i));
      fs.writeFileSync(path.join(dir, 'train', wnid, `${wnid}_boxes.txt`), '');
    });
    const annotations: string[] = [];
    for (let v = 0; v < 6; v++) {
      const k = (v * 2) % 3;
      writeJpeg(path.join(dir, 'val', 'images', `val_${v}.JPEG`), 64, 64, colourOf(k, 3));
      annotations.push(`val_${v}.JPEG\t${sorted[k]}\t0\t0\t63\t63`);
    }
    fs.writeFileSync(path.join(dir, 'val', 'val_annotations.txt'), annotations.join('\n') + '\n');
  });
  after(() => removeDir(root));

  it('labels from sorted wnid folders and val annotations; pixels close to the source', async () => {
    const { trainFull, train, val, test } = await loadTinyImageNet({ root, valPerClass: 1, workers: 0 });
    assert.deepEqual(trainFull.classNames, ['goldfish', 'cat', 'teapot']);
    assert.deepEqual(trainFull.imageShape, [64, 64, 3]);
    assert.equal(trainFull.size, 12);
    for (let n = 0; n < 12; n++) {
      const k = Math.floor(n / 4);
      const item = trainFull.get(n);
      assert.equal(item.label, k);
      assert.ok(maxDeviation(item.pixels, colourOf(k, n % 4)) <= 4);
    }
    assert.equal(test.size, 6);
    for (let v = 0; v < 6; v++) {
      assert.equal(test.label(v), (v * 2) % 3);
      assert.ok(maxDeviation(test.get(v).pixels, colourOf((v * 2) % 3, 3)) <= 4);
    }
    assert.equal(val.size, 3);
    assert.deepEqual([0, 1, 2].map((i) => val.label(i)).sort(), [0, 1, 2]);
    assert.equal(train.size, 9);
  });

  it('a corrupt JPEG fails the load with its path', async () => {
    const bad = path.join(root, 'tiny-imagenet-200', 'train', 'n0200', 'images', 'n0200_9.JPEG');
    fs.writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0x02]));
    try {
      await assert.rejects(loadTinyImageNet({ root, workers: 0, valPerClass: 1 }), (e: Error) => e.message.includes(bad));
    } finally {
      fs.rmSync(bad);
    }
  });

  it('a missing folder is an error with the expected layout', async () => {
    const empty = tempDir();
    try {
      await assert.rejects(loadTinyImageNet({ root: empty }), (e: Error) => {
        assert.ok(e.message.includes(empty));
        assert.match(e.message, /wnids\.txt.*train\/<wnid>\/images\/\*\.JPEG.*val_annotations\.txt/);
        assert.match(e.message, /tiny-imagenet-200\.zip/);
        return true;
      });
    } finally {
      removeDir(empty);
    }
  });
});

describe('data/folders: ImageNet folder', () => {
  let root: string;
  const classes = ['n02', 'n01', 'n03'];
  before(() => {
    root = tempDir();
    const sizes: [number, number][] = [
      [40, 30],
      [30, 50],
      [33, 33],
    ];
    classes.forEach((name) => {
      const k = [...classes].sort().indexOf(name);
      sizes.forEach(([w, h], i) => writeJpeg(path.join(root, 'train', name, `img${i}.JPEG`), w, h, colourOf(k, i)));
      writeJpeg(path.join(root, 'val', name, `val.JPEG`), 27, 41, colourOf(k, 0));
    });
    fs.writeFileSync(path.join(root, 'train', 'n01', 'notes.txt'), 'not an image');
  });
  after(() => removeDir(root));

  it('labels from sorted class folders; eval and train transforms give imageSize crops of the source colour', async () => {
    const splits = loadImageNetFolder({ root, imageSize: 16, resizeSize: 20, valPerClass: 1 });
    assert.deepEqual(splits.trainFull.classNames, ['n01', 'n02', 'n03']);
    assert.equal(splits.trainFull.size, 9);
    assert.equal(splits.test.size, 3);
    assert.deepEqual(splits.trainFull.imageShape, [16, 16, 3]);
    const raw = await splits.trainFull.read(1);
    assert.throws(() => splits.trainFull.get(1), /decoded asynchronously: read it with await dataset.read\(1\)/);
    assert.deepEqual(raw.shape, [50, 30, 3], 'items are the decoded files, before transforms');
    for (const [ds, transform] of [
      [splits.test, splits.test.transforms.eval],
      [splits.trainFull, splits.trainFull.transforms.train],
    ] as const) {
      const loader = new BatchLoader(ds, { batchSize: 4, shuffle: false, transform, workers: 0 });
      for await (const { x, y, indices } of loader) {
        assert.deepEqual(x.shape, [indices.length, 16, 16, 3]);
        const pixels = await x.data();
        const labels = await y.data();
        indices.forEach((item, b) => {
          const k = labels[b];
          assert.equal(k, ds.label(item));
          const i = ds === splits.test ? 0 : item % 3;
          const example = Array.from(pixels.subarray(b * 768, (b + 1) * 768), (v) => v * 255);
          assert.ok(maxDeviation(example, colourOf(k, i)) <= 5, `item ${item}`);
        });
        tf.dispose([x, y]);
      }
    }
  });

  it('worker mode decodes and augments a file subset to the same batches as synchronous mode', async () => {
    const { train } = loadImageNetFolder({ root, imageSize: 16, resizeSize: 20, valPerClass: 1 });
    const options = { batchSize: 4, transform: train.transforms.train, seed: 3 };
    const threaded = new BatchLoader(train, { ...options, workers: 1 });
    try {
      const sync = new BatchLoader(train, { ...options, workers: 0 });
      const a: Float32Array[] = [];
      for await (const { x, y } of sync) {
        a.push((await x.data()) as Float32Array);
        tf.dispose([x, y]);
      }
      let i = 0;
      for await (const { x, y } of threaded) {
        assert.ok(Buffer.from(((await x.data()) as Float32Array).buffer).equals(Buffer.from(a[i++].buffer)));
        tf.dispose([x, y]);
      }
      assert.equal(i, 2);
    } finally {
      await threaded.close();
    }
  });

  it('unknown class in val/ and missing val/ are errors naming the path and layout', () => {
    writeJpeg(path.join(root, 'val', 'n99', 'x.JPEG'), 8, 8, [0, 0, 0]);
    try {
      assert.throws(() => loadImageNetFolder({ root }), (e: Error) => e.message.includes(path.join(root, 'val', 'n99')) && /not a class of train/.test(e.message));
    } finally {
      removeDir(path.join(root, 'val', 'n99'));
    }
    const other = tempDir();
    try {
      fs.mkdirSync(path.join(other, 'train', 'a'), { recursive: true });
      assert.throws(() => loadImageNetFolder({ root: other }), (e: Error) => e.message.includes(other) && /missing val\/.*train\/<class>\/\*\.JPEG and val\/<class>\/\*\.JPEG/.test(e.message));
    } finally {
      removeDir(other);
    }
  });
});
