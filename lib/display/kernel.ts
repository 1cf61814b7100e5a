/**
 * The notebook side of alignmix: is this code running in the alignmix kernel, and how does it
 * reach the kernel's display channel.
 *
 * Detection and display go through the kernel's in-process API (kernel-api.ts), which the kernel
 * (kernel/kernel.js) installs before it runs the first cell. Outside a kernel (mocha, the CLI, a
 * script) the API is absent and callers fall back to plain text.
 *
 * Quick mode: `npm run test:notebooks` sets ALIGNMIX_QUICK=1; notebooks read it through
 * `quickMode()` to shrink their work to a smoke test of the same code path.
 */
import { randomUUID } from 'crypto';
import { kernelApi } from './kernel-api';

/** The part of a display that alignmix uses (so tests can pass a recorder). */
export interface HtmlDisplay {
  html(s: string): void;
}

/** True inside the alignmix kernel. */
export function inKernel(): boolean {
  return kernelApi() !== null;
}

/** The kernel's display (each call appends a new output), or null outside a kernel. */
export function kernelDisplay(): HtmlDisplay | null {
  const api = kernelApi();
  return api ? { html: (s) => api.display({ 'text/html': s }) } : null;
}

/**
 * A display bound to one output of the current cell: its first `html()` creates the output, later
 * calls replace it in place (Jupyter `update_display_data` with the same display_id). Null outside
 * a kernel.
 */
export function newKernelDisplay(): HtmlDisplay | null {
  const api = kernelApi();
  if (!api) return null;
  const displayId = randomUUID();
  let shown = false;
  return {
    html(s) {
      api.display({ 'text/html': s }, { displayId, update: shown });
      shown = true;
    },
  };
}

/** True when ALIGNMIX_QUICK=1: notebooks run a cut-down version of their work (CI smoke test). */
export function quickMode(): boolean {
  return process.env.ALIGNMIX_QUICK === '1';
}
