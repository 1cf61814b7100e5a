/**
 * The Output widget (@jupyter-widgets/output 1.0.0 OutputModel): an output area that collects what
 * code prints or displays while it runs inside `capture()`.
 *
 * How the capture works (as in ipywidgets): the kernel does not move outputs itself. It sets the
 * widget's `msg_id` state to the msg_id of the request being handled (an execute request, or the
 * comm message of a slider change), and every frontend that shows the widget routes the outputs
 * parented to that request into the widget instead of the cell; `msg_id = ''` ends the capture.
 * The frontend keeps the captured outputs in the `outputs` state (and syncs it back), which is
 * what a saved notebook's widget state holds. Captures nest: only the outermost sets and resets
 * `msg_id`.
 */
import { Layout } from './widgets-controls';
import { Widget, isThenable, modelReference } from './widgets-model';

export type OutputState = {
  _dom_classes: string[];
  layout: string;
  msg_id: string;
  outputs: Record<string, unknown>[];
  tabbable: boolean | null;
  tooltip: string | null;
};

export class Output extends Widget<OutputState> {
  private depth = 0;

  constructor(options: { layout?: ConstructorParameters<typeof Layout>[0] } = {}) {
    const output = '@jupyter-widgets/output';
    super(
      { modelModule: output, modelModuleVersion: '1.0.0', modelName: 'OutputModel', viewModule: output, viewModuleVersion: '1.0.0', viewName: 'OutputView' },
      { _dom_classes: [], layout: modelReference(new Layout(options.layout)), msg_id: '', outputs: [], tabbable: null, tooltip: null },
    );
  }

  /**
   * Runs `fn` with this widget capturing the outputs of the current request; an async `fn`
   * captures until its promise settles. Outside the kernel `fn` just runs (its outputs go where
   * they always go).
   */
  capture<T>(fn: () => Promise<T>): Promise<T>;
  capture<T>(fn: () => T): T;
  capture<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (!this.live || this.api === null) return fn();
    const parent = this.api.currentParentMsgId();
    if (parent === undefined) throw new Error('Output.capture: the kernel reports no current request to capture');
    if (this.depth++ === 0) this.set({ msg_id: parent });
    const end = () => {
      if (--this.depth === 0 && this.live) this.set({ msg_id: '' });
    };
    let result: T | Promise<T>;
    try {
      result = fn();
    } catch (e) {
      end();
      throw e;
    }
    if (!isThenable(result)) {
      end();
      return result;
    }
    return Promise.resolve(result).finally(end);
  }

  /** Clears the captured outputs; with `wait`, only when the next output arrives (no flicker). */
  clear(wait = false): void {
    const api = this.api;
    if (this.live && api) this.capture(() => api.clearOutput(wait));
  }
}
