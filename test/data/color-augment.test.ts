import { strict as assert } from 'assert';
import {
  AUTHORS_COLOR_AUGMENT, applyColorDraws, applyTransform, padCropFlip, randomResizedCrop, sampleColorDraws, withColorAugment,
} from '../../lib/data/augment';
import type { ImageShape } from '../../lib/data';
import { Rng } from '../../lib/random';

const draws = (d: Partial<{ brightness: number; contrast: number; saturation: number; lighting: [number, number, number] }>) =>
  ({ brightness: 0, contrast: 0, saturation: 0, lighting: [0, 0, 0] as [number, number, number], ...d });
const px = (...v: number[]) => Uint8Array.from(v);

describe('data/augment: the authors\' ImageNet colour augmentation', () => {
  it('brightness, saturation, contrast and lighting on hand-computed pixels', () => {
    const one: ImageShape = [1, 1, 3];
    const two: ImageShape = [1, 2, 3];
    // brightness 0.5: v -> v / 2
    assert.deepEqual(applyColorDraws(px(100, 200, 50), one, draws({ brightness: 0.5 })), px(50, 100, 25));
    // saturation 1: every channel becomes the gray level 0.299*100 + 0.587*200 + 0.114*50 = 153
    assert.deepEqual(applyColorDraws(px(100, 200, 50), one, draws({ saturation: 1 })), px(153, 153, 153));
    // brightness 0.2 then saturation 1: 0.8 * 153 = 122.4 -> 122
    assert.deepEqual(applyColorDraws(px(100, 200, 50), one, draws({ brightness: 0.2, saturation: 1 })), px(122, 122, 122));
    // contrast 0.5 towards the mean gray 1/2 of a black and a white pixel: 0.25 -> 63.75 -> 64, 0.75 -> 191.25 -> 191
    assert.deepEqual(applyColorDraws(px(0, 0, 0, 255, 255, 255), two, draws({ contrast: 0.5 })), px(64, 64, 64, 191, 191, 191));
    // contrast -0.4: 1.4 v - 0.2 leaves 0..1, clamped: -0.2 -> 0, 1.2 -> 255
    assert.deepEqual(applyColorDraws(px(0, 0, 0, 255, 255, 255), two, draws({ contrast: -0.4 })), px(0, 0, 0, 255, 255, 255));
    // lighting alpha = (1, 0, 0): shift = 255 * 0.2175 * (-0.5675, -0.5808, -0.5836) = (-31.475, -32.213, -32.368)
    assert.deepEqual(applyColorDraws(px(128, 128, 128), one, draws({ lighting: [1, 0, 0] })), px(97, 96, 96));
    assert.throws(() => applyColorDraws(px(1), [1, 1, 1], draws({})), /needs RGB images, got 1 channel/);
  });

  it('draws a_b, a_c, a_s ~ U(-jitter, jitter) then alpha ~ N(0, lighting), from the rng in that order', () => {
    const ref = new Rng(4);
    const u = [ref.uniform(), ref.uniform(), ref.uniform()];
    const n = [ref.normal(), ref.normal(), ref.normal()];
    const d = sampleColorDraws(new Rng(4), AUTHORS_COLOR_AUGMENT);
    assert.deepEqual([d.brightness, d.contrast, d.saturation], u.map((x) => 0.4 * (2 * x - 1)));
    assert.deepEqual(d.lighting, n.map((x) => 0.1 * x));
  });

  it('follows the crop and flip of randomResizedCrop without changing their draws; only after a random-resized crop', () => {
    const rng = new Rng(1);
    const shape: ImageShape = [12, 10, 3];
    const pixels = Uint8Array.from({ length: 12 * 10 * 3 }, () => rng.int(256));
    const plain = applyTransform(pixels, shape, randomResizedCrop(8), new Rng(5));
    const idle = applyTransform(pixels, shape, withColorAugment(randomResizedCrop(8), { jitter: 0, lighting: 0 }), new Rng(5));
    assert.deepEqual(idle.pixels, plain.pixels, 'zero jitter and lighting give the crop itself');
    const spec = withColorAugment(randomResizedCrop(8));
    assert.deepEqual(spec.kind === 'randomResizedCrop' && spec.color, { jitter: 0.4, lighting: 0.1 });
    const coloured = applyTransform(pixels, shape, spec, new Rng(5));
    assert.notDeepEqual(coloured.pixels, plain.pixels);
    assert.throws(() => withColorAugment(padCropFlip()), /follows a random-resized crop.*'padCropFlip'/);
  });
});
