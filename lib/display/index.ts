/**
 * Notebook display helpers: plotly figures that render offline, HTML tables (rows or danfojs
 * DataFrames), live training curves, image grids, cell results that render themselves (rich.ts,
 * registered with the kernel on import). Everything degrades to plain text outside the alignmix
 * kernel.
 * Notebooks import this file as './lib/display/index' (tslab resolves files, not folders).
 */
export { HtmlDisplay, inKernel, kernelDisplay, newKernelDisplay } from './kernel';
export { escapeHtml, scriptJson } from './html';
export {
  FigureOptions, PLOTLY_GLOBAL, PlotlyFigure, PlotlyTrace, figureHtml, loadPlotly, plotlyBundleHtml,
  plotlyLoaderHtml, showFigure,
} from './plotly';
export {
  DataFrameLike, Rows, TableCell, TableOptions, dataFrameToHtml, formatCells, loadDanfo, rowsToHtml, showTable,
} from './table';
export { CurvePanel, LiveCurves, LiveCurvesOptions } from './progress';
export { ImageGridOptions, imageGridFigure, mosaicDataUrl } from './images';
export { MIME_BUNDLE, MimeBundleRenderable, kernelApi } from './kernel-api';
export { MimeBundle, richBundle } from './rich';
export { CheckOptions, ExerciseCheckError, checkAnswer } from './exercise';
