/**
 * Kernel side of the Jupyter widget messaging protocol, version 2.1 (ipywidgets 8.1; spec:
 * ipywidgets packages/schema/messages.md), on the comms of the alignmix kernel (kernel-api.ts).
 *
 * One widget = one comm on target `jupyter.widget`, opened by the kernel with
 * `{state, buffer_paths}` (the full state, including the six `_model_* / _view_*` keys that name
 * the frontend classes) and metadata `{version: '2.1.0'}`. Then, over that comm:
 * - kernel -> frontend `update` with the keys that changed;
 * - frontend -> kernel `update`: the kernel first sends the same state back as `echo_update` (so
 *   other frontends and the sender's pending-update logic see the kernel's order, protocol 2.1),
 *   then applies it; when validation changes a value (a slider clamps to its range) the
 *   corrected value goes out as a normal `update`;
 * - `request_state` -> an `update` with the full state;
 * - `custom` messages both ways (a button click is `{event: 'click'}`).
 * A widget is shown by a `display_data` whose bundle has `application/vnd.jupyter.widget-view+json`
 * `{model_id, version_major: 2, version_minor: 0}`. The optional `jupyter.widget.control` target
 * answers `request_states` with every live widget's state in one `update_states` (JupyterLab uses
 * it to restore widgets after a page reload).
 *
 * Outside the alignmix kernel (mocha, the CLI, tslab without comms) widgets are plain local
 * objects: values, validation and observers work, nothing is sent, and `display()` prints a line
 * of text that says widgets need the kernel.
 */
import { KernelApi, KernelComm, MIME_BUNDLE, kernelApi } from './kernel-api';

export type WidgetState = Record<string, unknown>;

export const WIDGET_COMM_TARGET = 'jupyter.widget';
export const WIDGET_CONTROL_TARGET = 'jupyter.widget.control';
/** Protocol version in every `comm_open`'s metadata (echo_update exists from 2.1.0). */
export const WIDGET_PROTOCOL_VERSION = '2.1.0';
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
/** How a state value refers to another widget (a child, a layout, a style). */
export const MODEL_REFERENCE_PREFIX = 'IPY_MODEL_';

/** What the six immutable keys name: the frontend model and view classes. */
export interface ModelSpec {
  modelModule: string;
  modelModuleVersion: string;
  modelName: string;
  viewModule: string;
  viewModuleVersion: string;
  viewName: string;
}

/** Printed by `display()` and the helpers outside the alignmix kernel. */
export const NO_KERNEL_NOTE = 'widgets need the alignmix kernel: npm run lab';

/** Handler of a change of one state key: the new and the previous value. */
export type ChangeHandler<T> = (value: T, old: T) => void;

/** `IPY_MODEL_<id>`: the serialised reference to `widget`. */
export function modelReference(widget: Widget<WidgetState>): string {
  return `${MODEL_REFERENCE_PREFIX}${widget.id}`;
}

/**
 * Puts binary buffers back into a received state: `paths[k]` is the key path of `buffers[k]`
 * (protocol 2: a buffer can sit anywhere in the state; a list slot holds null, a dict key is
 * absent). The widgets here carry no binary data, but a frontend may still send some.
 */
function withBuffers(state: WidgetState, paths: unknown, buffers: ArrayBuffer[]): WidgetState {
  if (!Array.isArray(paths) || paths.length === 0) return state;
  if (paths.length !== buffers.length) {
    throw new Error(`widget message: ${paths.length} buffer_paths but ${buffers.length} buffers`);
  }
  paths.forEach((path, k) => {
    if (!Array.isArray(path) || path.length === 0) throw new Error(`widget message: buffer_paths[${k}] is not a key path`);
    let node = state as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path[path.length - 1]] = new DataView(buffers[k]);
  });
  return state;
}

export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as PromiseLike<unknown> | null)?.then === 'function';
}

/** JSON-level equality: what decides whether a key "changed" and must be sent. */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Per-kernel bookkeeping: the live widgets (for `request_states`) and the control target. */
class WidgetRegistry {
  readonly widgets = new Map<string, Widget<WidgetState>>();

  constructor(api: KernelApi) {
    api.registerCommTarget(WIDGET_CONTROL_TARGET, (comm) => {
      comm.onMessage((data) => {
        if (data.method !== 'request_states') return;
        const states: Record<string, WidgetState> = {};
        for (const [id, widget] of this.widgets) states[id] = widget.fullState();
        comm.send({ method: 'update_states', states: states, buffer_paths: [] });
      });
    });
  }
}

const registries = new WeakMap<KernelApi, WidgetRegistry>();

function registryOf(api: KernelApi): WidgetRegistry {
  let registry = registries.get(api);
  if (!registry) {
    registry = new WidgetRegistry(api);
    registries.set(api, registry);
  }
  return registry;
}

let localIds = 0;

/**
 * A widget model: its synced state (`S`, keyed by the protocol's attribute names, e.g.
 * `readout_format`, so that they read as in the ipywidgets documentation), the comm that
 * carries it, observers and custom-message handlers.
 */
export abstract class Widget<S extends WidgetState> {
  /** The comm id, which is the model id frontends know the widget by. */
  readonly id: string;
  /** The kernel this widget lives in; null outside the alignmix kernel. */
  protected readonly api: KernelApi | null;
  private readonly comm: KernelComm | null;
  private state: S;
  private readonly observers = new Map<keyof S, ChangeHandler<unknown>[]>();
  private readonly customHandlers: ((content: Record<string, unknown>, buffers: ArrayBuffer[]) => void)[] = [];
  private closed = false;

  protected constructor(spec: ModelSpec, state: S) {
    this.state = {
      _model_module: spec.modelModule,
      _model_module_version: spec.modelModuleVersion,
      _model_name: spec.modelName,
      _view_module: spec.viewModule,
      _view_module_version: spec.viewModuleVersion,
      _view_name: spec.viewName,
      // @jupyter-widgets/base's WidgetModel key (null: views are not counted), sent by ipywidgets too.
      _view_count: null,
      ...state,
    };
    this.state = { ...this.state, ...this.validate(this.state, this.state) };
    this.api = kernelApi();
    if (this.api === null) {
      this.comm = null;
      this.id = `local-${++localIds}`;
      return;
    }
    const comm = this.api.openComm(
      WIDGET_COMM_TARGET,
      { state: this.fullState(), buffer_paths: [] },
      { metadata: { version: WIDGET_PROTOCOL_VERSION } },
    );
    this.comm = comm;
    this.id = comm.id;
    comm.onMessage((data, buffers) => this.receive(data, buffers));
    comm.onClose(() => this.forget());
    registryOf(this.api).widgets.set(this.id, this as unknown as Widget<WidgetState>);
  }

  /** True when a frontend can show this widget (it lives in the alignmix kernel). */
  get live(): boolean {
    return this.comm !== null && !this.closed;
  }

  /** The frontend model class, e.g. `IntSliderModel` (for messages). */
  get modelName(): string {
    return String((this.state as WidgetState)._model_name);
  }

  /** The current value of one state key. */
  get<K extends keyof S>(key: K): S[K] {
    return this.state[key];
  }

  /** A copy of the whole state, as sent in `comm_open` and `request_state` answers. */
  fullState(): S {
    return JSON.parse(JSON.stringify(this.state)) as S;
  }

  /**
   * Changes state keys from the kernel side: validates them (an error names the key), stores
   * them, sends one `update` with the keys whose value changed, then calls their observers.
   */
  set(changes: Partial<S>): void {
    if (this.closed) throw new Error(`${this.modelName} ${this.id}: set() after close()`);
    const changed = this.apply(changes);
    if (Object.keys(changed.sent).length) this.sendState('update', changed.sent);
    this.notify(changed.old);
  }

  /** Calls `handler(value, old)` after every change of `key` (from the kernel or a frontend); returns an unsubscribe function. */
  observe<K extends keyof S>(key: K, handler: ChangeHandler<S[K]>): () => void {
    const list = this.observers.get(key) ?? [];
    list.push(handler as ChangeHandler<unknown>);
    this.observers.set(key, list);
    return () => list.splice(list.indexOf(handler as ChangeHandler<unknown>), 1);
  }

  /** Handles `custom` messages from the frontend. */
  onCustom(handler: (content: Record<string, unknown>, buffers: ArrayBuffer[]) => void): void {
    this.customHandlers.push(handler);
  }

  /** Sends a `custom` message to the frontend (nothing outside the kernel). */
  sendCustom(content: object): void {
    this.comm?.send({ method: 'custom', content: content });
  }

  /** Shows the widget in the current cell's output (a line of text outside the kernel). */
  display(): void {
    const bundle = this[MIME_BUNDLE]();
    if (this.api === null || this.closed) console.log(bundle['text/plain']);
    else this.api.display(bundle);
  }

  /** The widget's view bundle: what display() sends, and what the kernel shows when a cell ends with the widget. */
  [MIME_BUNDLE](): Record<string, unknown> {
    if (this.api === null || this.closed) return { 'text/plain': `${this.describe()} (text only; ${NO_KERNEL_NOTE})` };
    return {
      [WIDGET_VIEW_MIME]: { model_id: this.id, version_major: 2, version_minor: 0 },
      'text/plain': this.describe(),
    };
  }

  /** Closes the comm: frontends drop the model; later set() throws. */
  close(): void {
    if (this.closed) return;
    this.comm?.close();
    this.forget();
  }

  /** One line of text for `text/plain` and the no-kernel fallback, e.g. `IntSlider(value=3, description='n')`. */
  describe(): string {
    const shown = ['value', 'description'].filter((k) => k in this.state && this.state[k] !== '');
    const args = shown.map((k) => `${k}=${JSON.stringify(this.state[k])}`);
    return `${this.modelName.replace(/Model$/, '')}(${args.join(', ')})`;
  }

  /**
   * The state `next` after `changes` as it must be stored: subclasses check types and ranges here
   * (throwing errors that name the key) and may correct values (a slider clamps value into
   * [min, max]). Returns the corrected changes. Also runs on the initial state (changes = next)
   * before the comm opens, when subclass fields are not yet set: use only `next` and prototype
   * members.
   */
  protected validate(changes: Partial<S>, _next: S): Partial<S> {
    return changes;
  }

  private apply(changes: Partial<S>): { sent: Partial<S>; old: Partial<S> } {
    const unknown = Object.keys(changes).filter((k) => !(k in this.state));
    if (unknown.length) throw new Error(`${this.modelName}: no state key ${unknown.map((k) => `'${k}'`).join(', ')}`);
    const corrected = this.validate(changes, { ...this.state, ...changes });
    const sent: Partial<S> = {};
    const old: Partial<S> = {};
    for (const key of Object.keys(corrected) as (keyof S)[]) {
      if (sameValue(this.state[key], corrected[key])) continue;
      old[key] = this.state[key];
      sent[key] = corrected[key];
    }
    this.state = { ...this.state, ...sent };
    return { sent: sent, old: old };
  }

  private notify(old: Partial<S>): void {
    for (const key of Object.keys(old) as (keyof S)[]) {
      for (const handler of [...(this.observers.get(key) ?? [])]) handler(this.state[key], old[key]);
    }
  }

  private receive(data: Record<string, unknown>, buffers: ArrayBuffer[]): void {
    switch (data.method) {
      case 'update': {
        const received = withBuffers((data.state ?? {}) as WidgetState, data.buffer_paths, buffers);
        // Keys this model does not have are ignored, as ipywidgets does.
        const known = Object.fromEntries(Object.entries(received).filter(([k]) => k in this.state)) as Partial<S>;
        this.sendState('echo_update', known);
        let changed: { sent: Partial<S>; old: Partial<S> };
        try {
          changed = this.apply(known);
        } catch (e) {
          // Put the frontend back on the kernel's values before reporting the bad input.
          this.sendState('update', Object.fromEntries(Object.keys(known).map((k) => [k, this.state[k]])) as Partial<S>);
          throw e;
        }
        const corrected = Object.fromEntries(
          Object.entries(changed.sent).filter(([k, v]) => !sameValue(v, (known as WidgetState)[k])),
        ) as Partial<S>;
        if (Object.keys(corrected).length) this.sendState('update', corrected);
        this.notify(changed.old);
        return;
      }
      case 'request_state':
        this.sendState('update', this.fullState());
        return;
      case 'custom':
        for (const handler of this.customHandlers) handler((data.content ?? {}) as Record<string, unknown>, buffers);
        return;
      default:
        console.warn(`${this.modelName} ${this.id}: ignored widget message with method ${JSON.stringify(data.method)}`);
    }
  }

  private sendState(method: 'update' | 'echo_update', state: Partial<S>): void {
    if (Object.keys(state).length === 0) return;
    this.comm?.send({ method: method, state: JSON.parse(JSON.stringify(state)), buffer_paths: [] });
  }

  private forget(): void {
    this.closed = true;
    if (this.api) registryOf(this.api).widgets.delete(this.id);
  }
}

/** What interact() and the helpers need of a control: a typed value and its change events. */
export interface ValueControl<T> {
  readonly value: T;
  onChange(handler: ChangeHandler<T>): () => void;
  /** The value as the control shows it (a dropdown's label), for messages. */
  valueText(): string;
}

/**
 * A widget whose `value` state key is its typed value (sliders, checkbox, text). Dropdown maps its
 * synced `index` to the value instead.
 */
export abstract class ValueWidget<T, S extends WidgetState & { value: T }> extends Widget<S> implements ValueControl<T> {
  get value(): T {
    return this.get('value');
  }

  set value(v: T) {
    this.set({ value: v } as Partial<S>);
  }

  /** Calls `handler(value, old)` after every change of the value; returns an unsubscribe function. */
  onChange(handler: ChangeHandler<T>): () => void {
    return this.observe('value', handler as ChangeHandler<S['value']>);
  }

  valueText(): string {
    return JSON.stringify(this.value);
  }
}
