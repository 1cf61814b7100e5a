import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { tileImages } from '../../lib/data/mosaic';
import { imageGridFigure } from '../../lib/display/images';

/** Decode the figure's PNG data URL back to RGBA bytes. */
function decodeSource(source: unknown): PNG {
  assert.equal(typeof source, 'string');
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(source as string);
  assert.ok(m, 'a PNG data URL');
  return PNG.sync.read(Buffer.from(m[1], 'base64'));
}

describe('display: image grids', () => {
  // Three 2x3 greyscale images with distinct, hand-checkable pixel values.
  const grey = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const images = () => tf.tensor4d([...grey, ...grey.map((v) => 1 - v), ...grey.map(() => 0.5)], [3, 2, 3, 1]);

  it('tiles row-major with white gaps; pixel (y, x) of image k lands at its tile offset', () => {
    const x = images();
    const m = tileImages(x, 2, 1);
    x.dispose();
    // 2 columns x 2 rows of 2x3 tiles, 1-pixel gaps: width 2*3 + 1, height 2*2 + 1.
    assert.deepEqual([m.width, m.height, m.rows, m.columns, m.stepX, m.stepY], [7, 5, 2, 2, 4, 3]);
    const at = (y: number, xx: number) => m.rgba[(y * m.width + xx) * 4];
    assert.deepEqual([0, 1, 2].map((xx) => at(1, xx)), [153, 204, 255], 'image 0, row 1 = 0.6, 0.8, 1');
    assert.deepEqual([4, 5, 6].map((xx) => at(0, xx)), [255, 204, 153], 'image 1, row 0 = 1 - (0, 0.2, 0.4)');
    assert.equal(at(3, 0), 128, 'image 2 starts the second row');
    assert.equal(at(0, 3), 255, 'gap column is white');
    assert.equal(at(4, 5), 255, 'the empty fourth tile is white');
    assert.equal(m.rgba[(1 * m.width + 1) * 4 + 3], 255, 'opaque');
  });

  it('keeps RGB channels apart and clips values outside [0, 1]', () => {
    const x = tf.tensor4d([0.5, -1, 2], [1, 1, 1, 3]);
    const m = tileImages(x, 1, 0);
    x.dispose();
    assert.deepEqual(Array.from(m.rgba), [128, 0, 255, 255]);
  });

  it('the figure is one image trace whose PNG decodes to the mosaic, with labels over the tile centres', () => {
    const x = images();
    const fig = imageGridFigure(x, { columns: 3, columnLabels: ['λ = 0', 'λ = 0.5', 'λ = 1'], rowLabels: ['A'], title: 't', scale: 4 });
    const m = tileImages(x, 3, 2);
    x.dispose();
    assert.equal(fig.data.length, 1);
    assert.equal(fig.data[0].type, 'image');
    const png = decodeSource(fig.data[0].source);
    assert.deepEqual([png.width, png.height], [m.width, m.height]);
    assert.deepEqual(Array.from(png.data), Array.from(m.rgba));
    const notes = (fig.layout as { annotations: { text: string; x: number; y: number }[] }).annotations;
    // Tile j spans x in [5j, 5j + 2] (width 3, gap 2): centre 5j + 1.
    assert.deepEqual(notes.map((a) => [a.text, a.x, a.y]), [['λ = 0', 1, -0.5], ['λ = 0.5', 6, -0.5], ['λ = 1', 11, -0.5], ['A', -0.5, 0.5]]);
    const layout = fig.layout as { height: number; margin: { t: number; b: number } };
    assert.equal(layout.height, 4 * m.height + layout.margin.t + layout.margin.b);
  });

  it('rejects wrong shapes, too many labels and non-finite pixels, naming the function', () => {
    const bad = tf.zeros([2, 4, 4, 2]) as tf.Tensor4D;
    assert.throws(() => tileImages(bad, 1, 0), /tileImages: images must be \[N >= 1, H, W, 1 or 3\], got shape \[2,4,4,2\]/);
    bad.dispose();
    const x = images();
    assert.throws(() => imageGridFigure(x, { columns: 3, rowLabels: ['a', 'b'] }), /imageGridFigure: 2 rowLabels for 1 rows/);
    assert.throws(() => imageGridFigure(x, { colums: 3 } as never), /imageGridFigure/);
    x.dispose();
    const nan = tf.tensor4d([NaN], [1, 1, 1, 1]);
    assert.throws(() => tileImages(nan, 1, 0), /tileImages/);
    nan.dispose();
  });
});
