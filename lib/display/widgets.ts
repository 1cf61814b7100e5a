/**
 * Jupyter widgets (ipywidgets 8.1 in JupyterLab, protocol 2.1) driven from TypeScript in the
 * alignmix kernel: sliders, dropdown, checkbox, button, labels, output areas and boxes
 * (widgets-controls.ts, widgets-output.ts, on the protocol core in widgets-model.ts), and
 * `interact`, which redraws one output whenever a control changes.
 *
 *   const ui = await interact(
 *     { lambda: new FloatSlider({ value: 0.5, min: 0, max: 1, step: 0.05, description: 'λ' }),
 *       eps: new FloatLogSlider({ value: 0.01, min: -3, max: 0, description: 'ε' }) },
 *     ({ lambda, eps }) => showFigure(toyFigure(lambda, eps)),
 *   );
 *
 * Outside the alignmix kernel (a script, tests, a kernel without comms) the same code runs once
 * with the initial values and prints that widgets need the kernel.
 * Notebooks import this file as './lib/display/widgets'.
 */
import { MIME_BUNDLE } from './kernel-api';
import { Output } from './widgets-output';
import { VBox } from './widgets-controls';
import { NO_KERNEL_NOTE, ValueControl, Widget, WidgetState, isThenable } from './widgets-model';

export {
  Button, ButtonState, Checkbox, CheckboxState, Dropdown, DropdownOption, DropdownState, FloatLogSlider, FloatSlider,
  HBox, HTML, IntSlider, Label, Layout, LayoutState, LogSliderState, SliderState, Style, StyleModelName, TextState, VBox,
} from './widgets-controls';
export { Output, OutputState } from './widgets-output';
export {
  ChangeHandler, NO_KERNEL_NOTE, ValueControl, ValueWidget, WIDGET_VIEW_MIME, Widget, WidgetState, modelReference,
} from './widgets-model';

/** A control that interact() can read: a widget with a typed value. */
export type Control<T> = Widget<WidgetState> & ValueControl<T>;

/** The typed values of a record of controls: `{ lambda: FloatSlider }` -> `{ lambda: number }`. */
export type ControlValues<C> = { [K in keyof C]: C[K] extends ValueControl<infer T> ? T : never };

export interface InteractOptions {
  /** Where each drawing goes; default a new Output widget under the controls. */
  output?: Output;
}

export interface Interaction<C> {
  readonly controls: C;
  readonly output: Output;
  /** The controls with the output under them: what interact displayed. */
  readonly box: VBox;
  /** The controls' current values. */
  values(): ControlValues<C>;
  /** Draws again with the current values, as a change does; resolves when drawn. */
  redraw(): Promise<void>;
  /** One line, `interact(lambda=0.5, eps=0.01)`, when a cell ends with the interaction (the widgets are already shown). */
  [MIME_BUNDLE](): Record<string, unknown>;
}

/**
 * Shows `controls` above an output area and draws `draw(values)` into it, then again after every
 * change of a control (replacing the previous drawing: clear-on-next-output, so it does not
 * flicker). `draw` may display anything (figures, tables, text) and may be async. Changes that
 * arrive while a drawing is under way are coalesced into one more drawing with the latest
 * values. The first drawing happens before the returned promise resolves and its errors reject
 * it (so a notebook cell fails); errors of later drawings are printed in the output area.
 *
 * Outside the alignmix kernel: draws once with the initial values and prints a note.
 */
export async function interact<C extends Record<string, Control<any>>>(
  controls: C,
  draw: (values: ControlValues<C>) => unknown,
  options: InteractOptions = {},
): Promise<Interaction<C>> {
  const names = Object.keys(controls);
  if (names.length === 0) throw new Error('interact: no controls given');
  const values = () => Object.fromEntries(names.map((k) => [k, controls[k].value])) as ControlValues<C>;
  const valuesText = () => names.map((k) => `${k}=${controls[k].valueText()}`).join(', ');
  const output = options.output ?? new Output();
  const box = new VBox([...names.map((k) => controls[k]), output]);

  const report = (e: unknown, first: boolean): void => {
    if (first) throw e;
    console.error(`interact: drawing failed for ${valuesText()}: ${(e as Error).stack ?? e}`);
  };
  /** One drawing inside the output's capture; a promise only when `draw` returned one. */
  const drawOnce = (first: boolean): void | Promise<void> =>
    output.capture(() => {
      output.clear(true);
      let result: unknown;
      try {
        result = draw(values());
      } catch (e) {
        return report(e, first);
      }
      return isThenable(result) ? Promise.resolve(result).then(() => undefined, (e) => report(e, first)) : undefined;
    });
  // Synchronous drawings complete inside the comm message that caused them, as with ipywidgets;
  // once a drawing returns a promise, later changes wait for it and coalesce into one drawing.
  let running: Promise<void> | null = null;
  let dirty = false;
  const redraw = (first = false): Promise<void> => {
    dirty = true;
    if (running) return running;
    while (dirty) {
      dirty = false;
      const pending = drawOnce(first);
      first = false;
      if (pending) {
        running = (async () => {
          try {
            await pending;
            while (dirty) {
              dirty = false;
              await drawOnce(false);
            }
          } finally {
            running = null;
          }
        })();
        return running;
      }
    }
    return Promise.resolve();
  };

  const interaction: Interaction<C> = {
    controls: controls, output: output, box: box, values: values, redraw: () => redraw(),
    [MIME_BUNDLE]: () => ({ 'text/plain': `interact(${valuesText()})` }),
  };
  if (!box.live) {
    console.log(`interact: drawing once with ${valuesText()} (${NO_KERNEL_NOTE})`);
    await draw(values());
    return interaction;
  }
  box.display();
  await redraw(true);
  for (const name of names) controls[name].onChange(() => void redraw());
  return interaction;
}
