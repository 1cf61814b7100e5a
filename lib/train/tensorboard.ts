/**
 * TensorBoard logs of a training run: event files under <runDir>/tb/, written by the trainer
 * through its callbacks (`tensorboardCallbacks`), read by `npm run tensorboard`.
 *
 * What is logged (tag: step):
 *   batch/loss/<term>, batch/lr, batch/lambda, batch/target_weight, batch/mode (index in
 *   MIX_MODES), batch/sinkhorn/{iterations,row_error,col_error} (aligned batches only): the global
 *   batch number, (epoch - 1) * batchesPerEpoch + batch, as in batches.jsonl;
 *   epoch/{train_loss,val_accuracy,test_accuracy,lr,images_per_second,sinkhorn_row_error},
 *   epoch/mode_batches/<mode>: the epoch number, as in metrics.csv;
 *   interpolation (models with a decoder): per epoch, a grid whose row i is x_a, D((1 - t) z_a + t z_b)
 *   for t = 0, 1/7, ..., 1, then x_b, for the first 2 * rows validation images (z = e(E(x)), the
 *   VAE's mean).
 * A resumed run appends a new file that starts with a SessionLog START at its first step, so
 * TensorBoard drops what an interrupted process logged after its last checkpoint.
 *
 * The file format is written here, not through tfjs-node's summary writer (scalars only, and only
 * on the native backend): each event is a TFRecord
 *   uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
 * (little endian; masked(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8 mod 2^32, CRC-32C with the
 * Castagnoli polynomial), and data is a protobuf `Event` (tensorflow/core/util/event.proto):
 * wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5, session_log = 7;
 * Summary.value = 1; Value.tag = 1, simple_value = 2 (float), image = 4, metadata = 9;
 * Image.height = 1, width = 2, colorspace = 3, encoded_image_string = 4 (PNG);
 * SummaryMetadata.summary_description = 3; SessionLog.status = 1 (START = 1).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { assembleBatch } from '../data/batch';
import { Dataset } from '../data/index';
import { tileImages } from '../data/mosaic';
import { AlignMixModel } from '../models/model';
import { reflectedCrc32 } from '../crc';
import { Rng } from '../random';
import { MIX_MODES } from './modes';
import type { TrainCallbacks } from './trainer';

export const TENSORBOARD_DIR = 'tb';

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
export const crc32c = reflectedCrc32(0x82f63b78);

/** TFRecord's masked CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([head, data, tail]);
}

// Protobuf wire format: key = (field << 3) | wire type; 0 varint, 1 fixed64, 2 bytes, 5 fixed32.
function varint(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const pbVarint = (field: number, v: number) => Buffer.concat([key(field, 0), varint(v)]);
const pbBytes = (field: number, b: Uint8Array | string) => {
  const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
  return Buffer.concat([key(field, 2), varint(data.length), data]);
};
const pbDouble = (field: number, v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v, 0);
  return Buffer.concat([key(field, 1), b]);
};
const pbFloat = (field: number, v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v, 0);
  return Buffer.concat([key(field, 5), b]);
};

/** A summary value of an event: a scalar or a PNG image. */
export type SummaryValue =
  | { tag: string; scalar: number; description?: string }
  | { tag: string; png: Uint8Array; width: number; height: number };

function encodeValue(v: SummaryValue): Buffer {
  if ('scalar' in v) {
    return Buffer.concat([
      pbBytes(1, v.tag), pbFloat(2, v.scalar), ...(v.description ? [pbBytes(9, pbBytes(3, v.description))] : []),
    ]);
  }
  // colorspace 4: RGBA.
  const image = Buffer.concat([pbVarint(1, v.height), pbVarint(2, v.width), pbVarint(3, 4), pbBytes(4, v.png)]);
  return Buffer.concat([pbBytes(1, v.tag), pbBytes(4, image)]);
}

/** Appends events to one new event file in `dir` (created). Every write goes to disk at once. */
export class EventFileWriter {
  readonly file: string;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    // TensorBoard orders a folder's files by name: seconds first, then a counter for files made
    // within the same second.
    const stamp = Math.floor(Date.now() / 1000);
    let file: string;
    for (let n = 0; ; n++) {
      file = path.join(dir, `events.out.tfevents.${stamp}.${os.hostname()}.${process.pid}.${n}.alignmix`);
      if (!fs.existsSync(file)) break;
    }
    this.file = file;
    this.append(pbBytes(3, 'brain.Event:2'), 0);
  }

  private append(body: Buffer, step: number): void {
    const event = Buffer.concat([pbDouble(1, Date.now() / 1000), pbVarint(2, step), body]);
    fs.appendFileSync(this.file, tfRecord(event));
  }

  /** Summary values at `step`. */
  write(step: number, values: SummaryValue[]): void {
    if (values.length) this.append(pbBytes(5, Buffer.concat(values.map((v) => pbBytes(1, encodeValue(v))))), step);
  }

  /** SessionLog START: TensorBoard discards earlier events with step >= `step`. */
  sessionStart(step: number): void {
    this.append(pbBytes(7, pbVarint(1, 1)), step);
  }
}

/** RGBA PNG of a grid of images [N, H, W, 1 or 3] in [0, 1], `columns` per row, 2-pixel gaps. */
function gridPng(images: tf.Tensor4D, columns: number): { png: Uint8Array; width: number; height: number } {
  const mosaic = tileImages(images, columns, 2);
  const png = new PNG({ width: mosaic.width, height: mosaic.height });
  png.data.set(mosaic.rgba);
  return { png: PNG.sync.write(png), width: mosaic.width, height: mosaic.height };
}

const INTERPOLATION_ROWS = 4;
const INTERPOLATION_STEPS = 8;

/**
 * The interpolation grid of the module comment: [rows * (steps + 2), H, W, C] in [0, 1]. Uses the
 * first 2 * rows items of `data` (its evaluation transform; fewer rows when it is smaller).
 */
export async function interpolationGrid(model: AlignMixModel, data: Dataset): Promise<tf.Tensor4D> {
  const rows = Math.min(INTERPOLATION_ROWS, Math.floor(data.size / 2));
  if (rows < 1) throw new Error(`interpolationGrid: ${data.name} has ${data.size} items; 2 are needed`);
  const { x } = await assembleBatch(data.source, {
    indices: Int32Array.from({ length: 2 * rows }, (_, i) => i), rngState: new Rng(0).getState(),
    transform: data.transforms.eval, shape: data.imageShape,
  });
  return tf.tidy(() => {
    const images = tf.tensor4d(x, [2 * rows, ...data.imageShape]);
    const z = model.embed(model.features(images, 'eval'));
    const [za, zb] = tf.split(z, [rows, rows]);
    const [xa, xb] = tf.split(images, [rows, rows]);
    const steps = Array.from({ length: INTERPOLATION_STEPS }, (_, k) => k / (INTERPOLATION_STEPS - 1));
    const decoded = steps.map((t) => model.decode(tf.add(tf.mul(za, 1 - t), tf.mul(zb, t)), 'eval'));
    // [rows, steps + 2, H, W, C] -> row-major tiles.
    const perRow = tf.stack([xa, ...decoded, xb], 1);
    return tf.reshape(perRow, [rows * (INTERPOLATION_STEPS + 2), ...data.imageShape]) as tf.Tensor4D;
  });
}

const MODE_DESCRIPTION = `index in MIX_MODES: ${MIX_MODES.map((m, i) => `${i} ${m}`).join(', ')}`;

/**
 * Callbacks that log a run to <runDir>/tb (see the module comment). The trainer adds them to
 * every run; `onStart` opens the file (a resumed run gets a new one).
 */
export function tensorboardCallbacks(): TrainCallbacks {
  let writer: EventFileWriter | null = null;
  let decoded: { model: AlignMixModel; data: Dataset } | null = null;
  let batchesPerEpoch = 0;
  return {
    onStart(info) {
      writer = new EventFileWriter(path.join(info.runDir, TENSORBOARD_DIR));
      decoded = info.model.decoder ? { model: info.model, data: info.valData } : null;
      batchesPerEpoch = info.batchesPerEpoch;
      // Epoch tags count epochs, which never exceed the batches done, so this purges none of theirs.
      if (info.batchesDone > 0) writer.sessionStart(info.batchesDone + 1);
    },
    onBatch(e) {
      const s = e.step;
      const values: SummaryValue[] = [
        ...Object.entries(s.losses).filter(([, v]) => v !== undefined).map(([term, v]) => ({ tag: `batch/loss/${term}`, scalar: v as number })),
        { tag: 'batch/lr', scalar: e.lr },
        { tag: 'batch/lambda', scalar: s.lambda },
        { tag: 'batch/target_weight', scalar: s.targetWeight },
        { tag: 'batch/mode', scalar: MIX_MODES.indexOf(s.mode), description: MODE_DESCRIPTION },
      ];
      if (s.sinkhorn) {
        values.push(
          { tag: 'batch/sinkhorn/iterations', scalar: s.sinkhorn.iterations },
          { tag: 'batch/sinkhorn/row_error', scalar: s.sinkhorn.rowError },
          { tag: 'batch/sinkhorn/col_error', scalar: s.sinkhorn.colError },
        );
      }
      writer?.write((e.epoch - 1) * batchesPerEpoch + e.batch, values);
    },
    async onEpoch(r) {
      const values: SummaryValue[] = [
        { tag: 'epoch/train_loss', scalar: r.trainLoss },
        { tag: 'epoch/val_accuracy', scalar: r.valAccuracy },
        { tag: 'epoch/test_accuracy', scalar: r.testAccuracy },
        { tag: 'epoch/lr', scalar: r.lr },
        { tag: 'epoch/images_per_second', scalar: r.imagesPerSecond },
        { tag: 'epoch/sinkhorn_row_error', scalar: r.sinkhornRowError },
        ...r.modes.split(' ').filter((m) => m).map((m) => {
          const [mode, count] = m.split(':');
          return { tag: `epoch/mode_batches/${mode}`, scalar: Number(count) };
        }),
      ];
      if (decoded) {
        const grid = await interpolationGrid(decoded.model, decoded.data);
        try {
          values.push({ tag: 'interpolation', ...gridPng(grid, INTERPOLATION_STEPS + 2) });
        } finally {
          grid.dispose();
        }
      }
      writer?.write(r.epoch, values);
    },
  };
}
