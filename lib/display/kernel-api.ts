/**
 * The contract between the alignmix notebook kernel (kernel/) and library code that runs inside it
 * (display helpers, widgets). The kernel installs an implementation on
 * `globalThis[Symbol.for('alignmix.kernel')]` before it runs the first cell; outside the kernel the
 * slot is empty and `kernelApi()` returns null, so library code falls back to plain text.
 *
 * Messages follow the Jupyter messaging protocol (5.3): `display()` sends `display_data`, or
 * `update_display_data` when `update` is set; comms are the protocol's `comm_open` / `comm_msg` /
 * `comm_close`, parented to the request being executed (or the comm message being handled).
 */

/** One side of a Jupyter comm, as library code sees it. */
export interface KernelComm {
  readonly id: string;
  readonly targetName: string;
  /** `comm_msg` to the frontend. */
  send(data: object, opts?: { metadata?: object; buffers?: ArrayBuffer[] }): void;
  /** `comm_close` to the frontend; later sends throw. */
  close(data?: object): void;
  /** Messages from the frontend (`comm_msg`), in arrival order. */
  onMessage(handler: (data: Record<string, unknown>, buffers: ArrayBuffer[]) => void): void;
  /** The frontend closed the comm (`comm_close`). */
  onClose(handler: (data: Record<string, unknown>) => void): void;
}

export interface KernelApi {
  /** Open a comm from the kernel side (`comm_open` on iopub). */
  openComm(targetName: string, data: object, opts?: { metadata?: object; buffers?: ArrayBuffer[] }): KernelComm;
  /** Accept comms the frontend opens for `targetName` (answered in `comm_info_reply` too). */
  registerCommTarget(targetName: string, onOpen: (comm: KernelComm, data: Record<string, unknown>, buffers: ArrayBuffer[]) => void): void;
  /** `display_data` with a MIME bundle; with `displayId` it can be replaced later (`update: true`). */
  display(bundle: Record<string, unknown>, opts?: { metadata?: object; displayId?: string; update?: boolean }): void;
  /** `clear_output` for the current cell. */
  clearOutput(wait?: boolean): void;
  /** msg_id of the request whose output is being produced now (the Output widget captures by it). */
  currentParentMsgId(): string | undefined;
  /**
   * Call `handler` when the user interrupts the kernel (Jupyter's interrupt: SIGINT or
   * interrupt_request), before the running cell is abandoned; returns a function that removes it.
   */
  onInterrupt(handler: () => void): () => void;
  /** Page a MIME bundle (execute_reply payload `page`, shown in the frontend's pager). */
  page(bundle: Record<string, unknown>): void;
  /** `input_request` on the stdin channel; resolves with the user's reply. */
  input(prompt?: string, opts?: { password?: boolean }): Promise<string>;
  /**
   * Render cell values (execute_result) with `render`, which returns a MIME bundle or null when
   * the value is not its kind. Tried after a value's own [MIME_BUNDLE] method, before the kernel's
   * built-in renderings; registering a name again replaces its renderer.
   */
  registerRenderer(name: string, render: (value: unknown) => Record<string, unknown> | null): void;
}

/**
 * The display protocol of cell values: an object with a method under this key renders itself when
 * it is a cell's last expression (execute_result) with the MIME bundle the method returns, e.g.
 * `{ 'text/html': '<b>x</b>', 'text/plain': 'x' }`.
 */
export const MIME_BUNDLE = Symbol.for('alignmix.mimeBundle');

/** A value's own MIME bundle method, as the kernel calls it. */
export interface MimeBundleRenderable {
  [MIME_BUNDLE](): Record<string, unknown>;
}

export const KERNEL_API_KEY = Symbol.for('alignmix.kernel');

/** The running kernel's API, or null outside the alignmix kernel. */
export function kernelApi(): KernelApi | null {
  return ((globalThis as Record<symbol, unknown>)[KERNEL_API_KEY] as KernelApi | undefined) ?? null;
}
