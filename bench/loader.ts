/**
 * The image loader's throughput: decode + RandomResizedCrop(224) (scale (0.08, 1), ratio (3/4, 4/3))
 * + horizontal flip + normalise (ImageNet mean / std) to float32, in N worker threads, over
 * ImageNet-like JPEGs; the figure `loader:rrc224:w<N>` is the wall time per image of a pass
 * (median over passes). A pass is one epoch of the training loader itself (`BatchLoader`, batches
 * of 32 in dataset order, its default 2N batches in flight as PyTorch's default prefetch_factor 2
 * per worker gives), up to what a training step holds: each batch's x and y as tensors the
 * backend has taken in (on the native backend the loader hands x to TensorFlow, the step's first
 * use, and puts its buffer back for reuse: lib/data/batch-buffers.ts), then disposed. The report
 * names the decoder the crops got (TensorFlow's JPEG kernels, or sharp with ALIGNMIX_BACKEND=wasm
 * or without the native library: lib/data/image-file.ts).
 * bench/torch/loader.py measures the same work with torchvision (PIL) in a torch DataLoader with
 * N worker processes, up to each batch as a tensor in the main process.
 *
 * Images: realistic photos made for the benchmark (there is no image data set on the machine):
 * per image a smooth gradient between random corner colours, a dozen soft-edged ellipses and
 * rectangles, two octaves of value noise (texture) and per-pixel noise, encoded as JPEG quality 90
 * (4:2:0, as most photos), in ImageNet's common sizes (500x375, 375x500, 640x480, 1024x768,
 * 333x500). They are deterministic (seeded) and generated on first use into the git-ignored
 * .cache/bench-images/ (about 8 MB), then reused by both sides.
 *
 *   npm run bench:loader -- [--workers 2] [--images 320] [--reps 5]
 *   npm run bench -- --only loader        # ours and PyTorch side by side, with the ratio
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Command } from 'commander';
import { Rng } from '../lib/random';
import { randomResizedCrop } from '../lib/data/augment';
import { nativeJpegStatus } from '../lib/data/native-jpeg';
import { BatchLoader } from '../lib/data/loader';
import { ImageDataset } from '../lib/data/dataset';
import { initBackend } from '../lib/backend';
import { nodeBackendInternals } from '../lib/backends/native-ops';
import { assertInt } from '../lib/validate';
import { median, Timing } from './timing';

export const BENCH_IMAGE_SIZES: [number, number][] = [[500, 375], [375, 500], [640, 480], [1024, 768], [333, 500]];
const PER_SIZE = 16;
const BATCH = 32;
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/** Bump when the generator changes, so stale caches are not reused. */
const GENERATOR_VERSION = 1;
export const BENCH_IMAGE_DIR = path.join(__dirname, '..', '.cache', 'bench-images', `v${GENERATOR_VERSION}`);

/** Value noise: a (gw+1) x (gh+1) grid of uniform values, bilinearly interpolated at (x, y) in [0, 1]. */
function valueNoise(rng: Rng, cells: number): (x: number, y: number) => number {
  const n = cells + 1;
  const grid = Float64Array.from({ length: n * n }, () => rng.uniform() - 0.5);
  return (x, y) => {
    const gx = x * cells;
    const gy = y * cells;
    const i = Math.min(Math.floor(gx), cells - 1);
    const j = Math.min(Math.floor(gy), cells - 1);
    const fx = gx - i;
    const fy = gy - j;
    const at = (a: number, b: number) => grid[b * n + a];
    return (1 - fy) * ((1 - fx) * at(i, j) + fx * at(i + 1, j)) + fy * ((1 - fx) * at(i, j + 1) + fx * at(i + 1, j + 1));
  };
}

/** One photo-like RGB image (module comment), h x w x 3 bytes. */
function photoLike(rng: Rng, width: number, height: number): Uint8Array {
  const colour = () => [0, 1, 2].map(() => 30 + 200 * rng.uniform());
  const corners = [colour(), colour(), colour(), colour()];
  const shapes = Array.from({ length: 12 }, () => ({
    ellipse: rng.uniform() < 0.5, cx: rng.uniform(), cy: rng.uniform(), rx: 0.05 + 0.25 * rng.uniform(), ry: 0.05 + 0.25 * rng.uniform(), rgb: colour(), alpha: 0.5 + 0.5 * rng.uniform(),
  }));
  const coarse = valueNoise(rng, 6);
  const fine = valueNoise(rng, 60);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const v = y / (height - 1);
    for (let x = 0; x < width; x++) {
      const u = x / (width - 1);
      const rgb = [0, 1, 2].map((c) => (1 - v) * ((1 - u) * corners[0][c] + u * corners[1][c]) + v * ((1 - u) * corners[2][c] + u * corners[3][c]));
      for (const s of shapes) {
        const dx = (u - s.cx) / s.rx;
        const dy = (v - s.cy) / s.ry;
        const d = s.ellipse ? Math.hypot(dx, dy) : Math.max(Math.abs(dx), Math.abs(dy));
        const cover = s.alpha * Math.min(1, Math.max(0, (1 - d) * 20)); // soft edge
        if (cover > 0) for (let c = 0; c < 3; c++) rgb[c] += cover * (s.rgb[c] - rgb[c]);
      }
      const texture = 40 * coarse(u, v) + 25 * fine(u, v);
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(rgb[c] + texture + 8 * (rng.uniform() - 0.5))));
    }
  }
  return out;
}

/** The benchmark's JPEG files (module comment), generated into BENCH_IMAGE_DIR when missing. */
export async function benchImages(): Promise<string[]> {
  fs.mkdirSync(BENCH_IMAGE_DIR, { recursive: true });
  const files: string[] = [];
  for (const [width, height] of BENCH_IMAGE_SIZES) {
    for (let i = 0; i < PER_SIZE; i++) {
      const file = path.join(BENCH_IMAGE_DIR, `${width}x${height}-${String(i).padStart(2, '0')}.jpg`);
      if (!fs.existsSync(file)) {
        const pixels = photoLike(new Rng(width * 1000 + height + 7919 * i), width, height);
        const tmp = `${file}.${process.pid}.tmp`;
        await sharp(Buffer.from(pixels), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(tmp);
        fs.renameSync(tmp, file);
      }
      files.push(file);
    }
  }
  return files;
}

/** `count` items cycling through `files` (each file read as often as the others; same order on both sides). */
export function benchFileList(files: string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => files[i % files.length]);
}

export interface LoaderBenchOptions {
  workers: number;
  /** Images per timed pass. */
  images: number;
  warmup: number;
  reps: number;
}

/** Our figure: ms per image of a pass of `images` images through `workers` worker threads. */
export async function timeOurLoader(o: LoaderBenchOptions): Promise<Timing & { images_per_s: number }> {
  for (const key of ['workers', 'images', 'reps'] as const) assertInt('bench:loader', key, o[key], 1);
  assertInt('bench:loader', 'warmup', o.warmup, 0);
  const files = benchFileList(await benchImages(), o.images);
  const transform = randomResizedCrop(224);
  const dataset = new ImageDataset({
    name: 'bench-images', source: { kind: 'files', files, labels: new Int32Array(files.length), channels: 3 }, imageShape: [224, 224, 3], classNames: ['photo'], transforms: { train: transform, eval: transform },
  });
  const loader = new BatchLoader(dataset, { batchSize: BATCH, shuffle: false, transform, seed: 0, workers: o.workers, normalization: IMAGENET });
  const native = nodeBackendInternals();
  const pass = async () => {
    const t0 = process.hrtime.bigint();
    for await (const batch of loader) {
      // A training step's first op hands x to TensorFlow (tfjs-node defers it); whatever the loader
      // already did, the figure includes it.
      native?.getInputTensorIds([batch.x, batch.y]);
      batch.x.dispose();
      batch.y.dispose();
    }
    return Number(process.hrtime.bigint() - t0) / 1e6 / files.length;
  };
  try {
    for (let i = 0; i < o.warmup; i++) await pass();
    const runs: number[] = [];
    for (let i = 0; i < o.reps; i++) runs.push(await pass());
    const m = median(runs);
    return { median_ms: m, min_ms: Math.min(...runs), runs_ms: runs.map((r) => Math.round(r * 1000) / 1000), images_per_s: 1000 / m };
  } finally {
    await loader.close();
  }
}

/** Which decoder our loader gives the benchmark's JPEG crops (lib/data/native-jpeg), in words. */
export function jpegDecoder(): string {
  const status = nativeJpegStatus();
  return status.available ? "TensorFlow's kernels" : `sharp (${status.reason})`;
}

export function loaderFigureName(workers: number): string {
  return `loader:rrc224:w${workers}`;
}

async function main(): Promise<void> {
  const o = new Command('bench:loader')
    .option('--workers <n>', 'worker threads', '2')
    .option('--images <n>', 'images per timed pass', '320')
    .option('--warmup <n>', 'untimed passes first', '1')
    .option('--reps <n>', 'timed passes (median reported)', '5')
    .parse()
    .opts<Record<string, string>>();
  const options = { workers: Number(o.workers), images: Number(o.images), warmup: Number(o.warmup), reps: Number(o.reps) };
  await initBackend();
  const t = await timeOurLoader(options);
  console.log(`ours  ${loaderFigureName(options.workers)}  ${t.median_ms.toFixed(3)} ms/image (min ${t.min_ms.toFixed(3)}), ${t.images_per_s.toFixed(0)} images/s; JPEG crops: ${jpegDecoder()}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
