import { strict as assert } from 'assert';
import { makeSyntheticDataset } from '../../lib/data';
import type { Dataset } from '../../lib/data';

const image = (ds: Dataset, i: number) => Array.from(ds.get(i).pixels);

describe('data/synthetic', () => {
  it('same seed -> same images; another seed or split -> other images; sizes and names as asked', () => {
    const a = makeSyntheticDataset({ numClasses: 10, imageSize: 12, perClass: { train: 3, val: 2, test: 4 }, seed: 1 });
    const b = makeSyntheticDataset({ numClasses: 10, imageSize: 12, perClass: { train: 3, val: 2, test: 4 }, seed: 1 });
    const c = makeSyntheticDataset({ numClasses: 10, imageSize: 12, perClass: { train: 3, val: 2, test: 4 }, seed: 2 });
    assert.deepEqual([a.train.size, a.val.size, a.test.size, a.trainFull.size], [30, 20, 40, 50]);
    assert.deepEqual(a.train.imageShape, [12, 12, 3]);
    assert.equal(a.train.classNames[0], 'white disk');
    assert.equal(a.train.classNames[9], 'red square');
    for (let i = 0; i < 30; i++) {
      assert.deepEqual(image(a.train, i), image(b.train, i));
      assert.equal(a.train.label(i), Math.floor(i / 3));
    }
    assert.notDeepEqual(image(a.train, 0), image(c.train, 0));
    assert.notDeepEqual(image(a.train, 0), image(a.test, 0));
    assert.deepEqual(image(a.trainFull, 31), image(a.val, 1), 'trainFull = train then val');
    const grey = makeSyntheticDataset({ channels: 1, imageSize: 6, perClass: { train: 1, val: 0, test: 0 } });
    assert.deepEqual(grey.train.imageShape, [6, 6, 1]);
    assert.throws(() => makeSyntheticDataset({ numClasses: 65 }), /numClasses/);
  });

  it('without noise an image has exactly two colours: the background grey and the class colour', () => {
    const { train } = makeSyntheticDataset({ numClasses: 16, imageSize: 16, noise: 0, perClass: { train: 2, val: 0, test: 0 } });
    for (let i = 0; i < train.size; i++) {
      const px = train.get(i).pixels;
      const colours = new Set<string>();
      for (let p = 0; p < 256; p++) colours.add(`${px[3 * p]},${px[3 * p + 1]},${px[3 * p + 2]}`);
      assert.equal(colours.size, 2, `image ${i}`);
      const [r, g, b] = [...colours].map((c) => c.split(',').map(Number)).find(([x, y, z]) => !(x === y && y === z)) ?? [255, 255, 255];
      // Class k >= 8 is drawn in palette colour 1 (red): red dominates.
      if (train.label(i) >= 8) assert.ok(r > g && r > b, `image ${i}: ${r},${g},${b}`);
    }
  });

  it('classes are separable: nearest-neighbour classification of test images from train images is accurate', () => {
    const { train, test } = makeSyntheticDataset({ numClasses: 4, imageSize: 16, perClass: { train: 60, val: 0, test: 25 }, seed: 3 });
    // Chance is 25%; if labels did not determine the shape, no classifier could beat it.
    const trainImages = Array.from({ length: train.size }, (_, i) => train.get(i).pixels);
    let correct = 0;
    for (let i = 0; i < test.size; i++) {
      const px = test.get(i).pixels;
      let best = -1;
      let bestDist = Infinity;
      trainImages.forEach((t, j) => {
        let d = 0;
        for (let k = 0; k < px.length; k++) d += (t[k] - px[k]) ** 2;
        if (d < bestDist) [best, bestDist] = [j, d];
      });
      if (train.label(best) === test.label(i)) correct++;
    }
    assert.ok(correct / test.size >= 0.7, `accuracy ${correct / test.size}`);
  });
});
