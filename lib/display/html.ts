/**
 * Building blocks for HTML outputs that are embedded verbatim in other pages (JupyterLab's output
 * area, nbconvert's exported HTML, reveal.js slides).
 *
 * Text goes through `escapeHtml`. Data handed to a `<script>` goes through `scriptJson`: JSON in
 * which `<`, `>`, `&`, U+2028 and U+2029 are written as \uXXXX escapes. Those escapes mean the same
 * string to JavaScript, but the HTML parser then never sees `</script>` or `<!--` inside the
 * script element, whatever the data holds (a plot title such as "</script><script>..." stays a
 * title), and old JavaScript engines never see a raw line separator inside a string literal.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe to place in HTML element content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

const SCRIPT_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * JSON for embedding inside a `<script>` element (see the module header). Typed arrays become
 * plain arrays (JSON.stringify would write them as index-keyed objects); NaN and +-Infinity
 * become null, which plotly draws as a gap.
 */
export function scriptJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, v: unknown) =>
    ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v,
  );
  if (json === undefined) throw new Error(`scriptJson: value must be JSON-serialisable, got ${typeof value}`);
  return json.replace(/[<>&\u2028\u2029]/g, (c) => SCRIPT_ESCAPES[c]);
}

let elementCounter = 0;
const sessionTag = Date.now().toString(36);

/**
 * An element id unique within this process and, through the start-time tag, across kernel
 * sessions whose outputs end up in one saved notebook.
 */
export function uniqueElementId(prefix: string): string {
  elementCounter += 1;
  return `${prefix}-${sessionTag}-${elementCounter}`;
}
