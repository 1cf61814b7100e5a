/**
 * Grids of images as plotly figures: a batch of NHWC images in [0, 1] (the library's pixel
 * convention, 1 or 3 channels) tiled row by row into one mosaic with `gap` white pixels between
 * tiles, encoded as ONE PNG and drawn by a single plotly `image` trace whose `source` is the PNG's
 * data URL. Why one PNG: a 2 x 11 grid of 32 x 32 RGB images is 68k numbers (about 250 kB of
 * JSON as heatmap or `z` data) but a few kB as PNG, and one trace keeps the figure a single
 * plot. Labels are annotations in image coordinates: column labels above the tiles, row labels to
 * the left. The mosaic keeps its aspect ratio (the y axis is scale-anchored to x).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { assertKnownKeys, assertPositive } from '../validate';
import { ImageMosaic, tileImages } from '../data/mosaic';
import { PlotlyFigure } from './plotly';

export interface ImageGridOptions {
  /** Tiles per row (default: every image in one row). */
  columns?: number;
  /** Text left of each row (at most one per row). */
  rowLabels?: readonly string[];
  /** Text above each column (at most one per column). */
  columnLabels?: readonly string[];
  /** Figure title. */
  title?: string;
  /** White pixels between tiles (default 2). */
  gap?: number;
  /** CSS pixels per image pixel (default 3). */
  scale?: number;
}

const OPTION_KEYS = ['columns', 'rowLabels', 'columnLabels', 'title', 'gap', 'scale'];

/** PNG data URL of a mosaic. */
export function mosaicDataUrl(m: ImageMosaic): string {
  const png = new PNG({ width: m.width, height: m.height });
  png.data.set(m.rgba);
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/**
 * A figure showing `images` ([N, H, W, 1 or 3] in [0, 1]) as a labelled grid. Reads the tensor
 * back; the caller still owns (and disposes) it.
 */
export function imageGridFigure(images: tf.Tensor4D, options: ImageGridOptions = {}): PlotlyFigure {
  const where = 'imageGridFigure';
  assertKnownKeys(where, options, OPTION_KEYS);
  const scale = options.scale ?? 3;
  assertPositive(where, 'scale', scale);
  const mosaic = tileImages(images, options.columns ?? images.shape[0], options.gap ?? 2);
  const [, h, w] = images.shape;
  const rowLabels = options.rowLabels ?? [];
  const columnLabels = options.columnLabels ?? [];
  if (rowLabels.length > mosaic.rows) throw new Error(`${where}: ${rowLabels.length} rowLabels for ${mosaic.rows} rows`);
  if (columnLabels.length > mosaic.columns) throw new Error(`${where}: ${columnLabels.length} columnLabels for ${mosaic.columns} columns`);

  const annotations = [
    ...columnLabels.map((text, j) => ({
      text, x: j * mosaic.stepX + (w - 1) / 2, y: -0.5, xref: 'x', yref: 'y', xanchor: 'center', yanchor: 'bottom', showarrow: false,
    })),
    ...rowLabels.map((text, i) => ({
      text, x: -0.5, y: i * mosaic.stepY + (h - 1) / 2, xref: 'x', yref: 'y', xanchor: 'right', yanchor: 'middle', showarrow: false,
    })),
  ];
  const longestRowLabel = rowLabels.reduce((m, t) => Math.max(m, t.length), 0);
  const margin = {
    l: 10 + (longestRowLabel ? 8 * longestRowLabel : 0),
    r: 10,
    t: (options.title ? 40 : 10) + (columnLabels.length ? 22 : 0),
    b: 10,
  };
  const axis = { visible: false, showgrid: false, zeroline: false, fixedrange: true };
  return {
    data: [{
      type: 'image', source: mosaicDataUrl(mosaic), x0: 0, y0: 0, dx: 1, dy: 1, hoverinfo: 'skip',
    }],
    layout: {
      ...(options.title ? { title: { text: options.title } } : {}),
      height: Math.round(mosaic.height * scale) + margin.t + margin.b,
      margin,
      xaxis: { ...axis, range: [-0.5, mosaic.width - 0.5], constrain: 'domain' },
      yaxis: { ...axis, range: [mosaic.height - 0.5, -0.5], scaleanchor: 'x', constrain: 'domain' },
      annotations,
    },
    config: { displayModeBar: false },
  };
}
