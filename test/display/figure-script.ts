/**
 * Runs the script of a figure's HTML (lib/display/plotly figureHtml) in a bare vm context with a
 * fake page, so tests see what the browser would hand to Plotly.newPlot.
 */
import * as vm from 'vm';

export interface NewPlotCall {
  div: { id: string; textContent: string };
  data: unknown;
  layout: unknown;
  config: unknown;
  /** The frames handed to Plotly.addFrames after newPlot, or null when it was not called. */
  frames: unknown;
}

/** The id of the placeholder div and the single inline script of `html`. */
export function splitFigureHtml(html: string): { id: string; placeholder: string; script: string } {
  const div = /^<div id="([^"]+)" class="alignmix-plot"[^>]*>([^<]*)<\/div>/.exec(html);
  const script = /<script>([\s\S]*)<\/script>\s*$/.exec(html);
  if (!div || !script) throw new Error(`not a figure: ${html.slice(0, 200)}`);
  return { id: div[1], placeholder: div[2], script: script[1] };
}

/**
 * Run the figure script on a page whose `window.alignmixPlotly` is `plotly` (a fake Plotly, or
 * undefined for a page without the bundle). Resolves with the newPlot call (null when none) and
 * the placeholder's final text. Values come back as plain JSON (they are built in another realm).
 */
export async function runFigureScript(html: string, withBundle = true): Promise<{ call: NewPlotCall | null; text: string }> {
  const { id, placeholder, script } = splitFigureHtml(html);
  const div = { id, textContent: placeholder };
  let call: NewPlotCall | null = null;
  const fakePlotly = {
    newPlot(target: typeof div, data: unknown, layout: unknown, config: unknown) {
      call = JSON.parse(JSON.stringify({ div: target, data, layout, config, frames: null }));
      return Promise.resolve(target);
    },
    addFrames(target: typeof div, frames: unknown) {
      if (!call || call.div.id !== target.id) throw new Error('addFrames before newPlot on this div');
      call.frames = JSON.parse(JSON.stringify(frames));
      return Promise.resolve(target);
    },
  };
  const window: Record<string, unknown> = withBundle ? { alignmixPlotly: Promise.resolve(fakePlotly) } : {};
  const document = { getElementById: (wanted: string) => (wanted === id ? div : null) };
  vm.runInNewContext(script, { window, document });
  // Let the promise chain (bundle promise, newPlot, addFrames) settle.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return { call, text: div.textContent };
}
