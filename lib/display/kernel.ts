/**
 * The notebook side of alignmix: is this code running in the tslab kernel, and how does it reach
 * the kernel's display channel.
 *
 * Detection: tslab's executor defines `globalThis.__tslab__` before it runs any cell, and
 * `require('tslab')` inside code that tslab compiled (the notebook and the lib/ modules it
 * imports) returns the kernel's own tslab instance, whose display sends Jupyter `display_data`
 * messages. Outside a kernel (mocha, the CLI, a script) nothing here loads tslab (it would pull in
 * its TypeScript compiler for nothing) and callers fall back to plain text.
 *
 * Quick mode: `npm run test:notebooks` sets ALIGNMIX_QUICK=1; notebooks read it through
 * `quickMode()` (lib/train/plan.ts) to shrink their work to a smoke test of the same code path.
 */
import type * as Tslab from 'tslab';

/** The subset of tslab's `Display` that alignmix uses (so tests can pass a recorder). */
export interface HtmlDisplay {
  html(s: string): void;
}

/** True inside a tslab kernel. */
export function inKernel(): boolean {
  return '__tslab__' in globalThis;
}

function tslab(): typeof Tslab | null {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return inKernel() ? (require('tslab') as typeof Tslab) : null;
}

/** The kernel's display (each call appends a new output), or null outside a kernel. */
export function kernelDisplay(): HtmlDisplay | null {
  return tslab()?.display ?? null;
}

/**
 * A display bound to one output of the current cell: its first `html()` creates the output, later
 * calls replace it in place (Jupyter `update_display_data`). Null outside a kernel.
 */
export function newKernelDisplay(): HtmlDisplay | null {
  return tslab()?.newDisplay() ?? null;
}
