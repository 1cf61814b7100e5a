/**
 * The core ipywidgets 8.1 models alignmix uses, with the state each one syncs: attribute names,
 * types and defaults as in @jupyter-widgets/controls 2.0.0 and @jupyter-widgets/base 2.0.0
 * (ipywidgets packages/schema/jupyterwidgetmodels.latest.md). Every `comm_open` carries the full
 * state, as ipywidgets sends it. Validation follows ipywidgets: a slider clamps its value into
 * [min, max] and rejects min > max; integer widgets reject fractions.
 *
 * Every control owns a LayoutModel and a style model (referenced as `IPY_MODEL_<id>`), opened
 * before it, as ipywidgets does, so that the frontend can resolve the references.
 */
import { ChangeHandler, ModelSpec, ValueControl, ValueWidget, Widget, WidgetState, modelReference } from './widgets-model';

const BASE = '@jupyter-widgets/base';
const CONTROLS = '@jupyter-widgets/controls';
const VERSION = '2.0.0';

/** A model of @jupyter-widgets/controls with its own view class (`IntSlider` -> IntSliderModel / IntSliderView). */
function controlSpec(name: string): ModelSpec {
  return {
    modelModule: CONTROLS, modelModuleVersion: VERSION, modelName: `${name}Model`,
    viewModule: CONTROLS, viewModuleVersion: VERSION, viewName: `${name}View`,
  };
}

/** A style model: declared in controls, drawn by base's StyleView. */
function styleSpec(modelName: string): ModelSpec {
  return {
    modelModule: CONTROLS, modelModuleVersion: VERSION, modelName: modelName,
    viewModule: BASE, viewModuleVersion: VERSION, viewName: 'StyleView',
  };
}

/** Every key of LayoutModel; all are CSS strings, null meaning "not set". */
const LAYOUT_KEYS = [
  'align_content', 'align_items', 'align_self', 'border_bottom', 'border_left', 'border_right', 'border_top', 'bottom',
  'display', 'flex', 'flex_flow', 'grid_area', 'grid_auto_columns', 'grid_auto_flow', 'grid_auto_rows', 'grid_column',
  'grid_gap', 'grid_row', 'grid_template_areas', 'grid_template_columns', 'grid_template_rows', 'height',
  'justify_content', 'justify_items', 'left', 'margin', 'max_height', 'max_width', 'min_height', 'min_width',
  'object_fit', 'object_position', 'order', 'overflow', 'padding', 'right', 'top', 'visibility', 'width',
] as const;
export type LayoutState = { [K in (typeof LAYOUT_KEYS)[number]]: string | null };

/** CSS layout of one widget (`width: '300px'`, `flex_flow: 'row wrap'`, ...). */
export class Layout extends Widget<LayoutState> {
  constructor(options: Partial<LayoutState> = {}) {
    super(
      { modelModule: BASE, modelModuleVersion: VERSION, modelName: 'LayoutModel', viewModule: BASE, viewModuleVersion: VERSION, viewName: 'LayoutView' },
      { ...(Object.fromEntries(LAYOUT_KEYS.map((k) => [k, null])) as LayoutState), ...options },
    );
  }
}

/** Style keys of each style model, with their defaults (null: the theme's). */
const STYLE_DEFAULTS = {
  DescriptionStyleModel: { description_width: '' },
  SliderStyleModel: { description_width: '', handle_color: null },
  CheckboxStyleModel: { background: null, description_width: '' },
  ButtonStyleModel: {
    button_color: null, font_family: null, font_size: null, font_style: null, font_variant: null, font_weight: null,
    text_color: null, text_decoration: null,
  },
  LabelStyleModel: {
    background: null, description_width: '', font_family: null, font_size: null, font_style: null, font_variant: null,
    font_weight: null, text_color: null, text_decoration: null,
  },
  HTMLStyleModel: { background: null, description_width: '', font_size: null, text_color: null },
};
export type StyleModelName = keyof typeof STYLE_DEFAULTS;
export type StyleState = Record<string, string | null>;

/** The style model of one control (description width, colours, fonts). */
export class Style extends Widget<StyleState> {
  constructor(modelName: StyleModelName, options: StyleState = {}) {
    const defaults: StyleState = STYLE_DEFAULTS[modelName];
    const unknown = Object.keys(options).filter((k) => !(k in defaults));
    if (unknown.length) throw new Error(`${modelName}: no style key ${unknown.join(', ')} (has ${Object.keys(defaults).join(', ')})`);
    super(styleSpec(modelName), { ...defaults, ...options });
  }
}

/** Keys every DOM widget has. */
type DomState = {
  _dom_classes: string[];
  layout: string;
  tabbable: boolean | null;
  tooltip: string | null;
};

type DescribedState = DomState & {
  description: string;
  description_allow_html: boolean;
  style: string;
};

/** Options every control takes besides its own state: its layout and style keys. */
export interface DomOptions {
  layout?: Partial<LayoutState>;
  style?: StyleState;
}

type Options<S> = Partial<Omit<S, keyof DomState | 'style' | `_${string}`>> & Partial<Pick<DomState, 'tabbable' | 'tooltip'>> & DomOptions;

function domState(options: DomOptions & { tabbable?: boolean | null; tooltip?: string | null }): DomState {
  return {
    _dom_classes: [],
    layout: modelReference(new Layout(options.layout)),
    tabbable: options.tabbable ?? null,
    tooltip: options.tooltip ?? null,
  };
}

/** The options minus layout/style (which become models of their own). */
function ownKeys<O extends DomOptions>(options: O): Omit<O, 'layout' | 'style'> {
  const { layout: _layout, style: _style, ...rest } = options;
  return rest;
}

function describedState(styleModel: StyleModelName, options: DomOptions & { tabbable?: boolean | null; tooltip?: string | null }): DescribedState {
  return {
    ...domState(options),
    description: '',
    description_allow_html: false,
    style: modelReference(new Style(styleModel, options.style)),
  };
}

function requireNumber(model: string, key: string, v: unknown, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new Error(`${model}: '${key}' must be a finite ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export type SliderState = DescribedState & {
  value: number;
  min: number;
  max: number;
  step: number | null;
  behavior: 'drag-tap' | 'drag-snap' | 'tap' | 'drag' | 'snap';
  continuous_update: boolean;
  disabled: boolean;
  orientation: 'horizontal' | 'vertical';
  readout: boolean;
  readout_format: string;
};

export type LogSliderState = SliderState & { base: number };

const SLIDER_DEFAULTS = {
  behavior: 'drag-tap' as const, continuous_update: true, disabled: false, orientation: 'horizontal' as const, readout: true,
};

/**
 * Sliders share validation: numbers (integers for IntSlider), min <= max, value clamped into
 * [min, max] (for the log slider: [base^min, base^max], min and max being exponents).
 */
abstract class Slider<S extends SliderState> extends ValueWidget<number, S> {
  /** `own`: the model's defaults besides those all sliders share. */
  protected constructor(name: 'IntSlider' | 'FloatSlider' | 'FloatLogSlider', own: Partial<S>, options: Options<S>) {
    super(controlSpec(name), { ...describedState('SliderStyleModel', options), ...SLIDER_DEFAULTS, ...own, ...ownKeys(options) } as unknown as S);
  }

  /** IntSlider's values are integers (a prototype getter: validate() runs before fields exist). */
  protected get integer(): boolean {
    return false;
  }

  protected override validate(changes: Partial<S>, next: S): Partial<S> {
    const model = this.modelName;
    for (const key of ['value', 'min', 'max', 'step'] as const) {
      if (key in changes && !(key === 'step' && next.step === null)) requireNumber(model, key, next[key], this.integer);
    }
    if (next.min > next.max) throw new Error(`${model}: 'min' (${next.min}) must not exceed 'max' (${next.max})`);
    const [lo, hi] = this.valueRange(next);
    const clamped = Math.min(Math.max(next.value, lo), hi);
    return clamped === next.value && !('value' in changes) ? changes : { ...changes, value: clamped };
  }

  protected valueRange(state: S): [number, number] {
    return [state.min, state.max];
  }
}

/** An integer slider (IntSliderModel). */
export class IntSlider extends Slider<SliderState> {
  protected override get integer(): boolean {
    return true;
  }

  constructor(options: Options<SliderState> = {}) {
    super('IntSlider', { value: 0, min: 0, max: 100, step: 1, readout_format: 'd' }, options);
  }
}

/** A float slider (FloatSliderModel). */
export class FloatSlider extends Slider<SliderState> {
  constructor(options: Options<SliderState> = {}) {
    super('FloatSlider', { value: 0, min: 0, max: 100, step: 0.1, readout_format: '.2f' }, options);
  }
}

/** A slider over base^min .. base^max on a log scale (FloatLogSliderModel); `value` is the number itself, min/max/step are exponents. */
export class FloatLogSlider extends Slider<LogSliderState> {
  constructor(options: Options<LogSliderState> = {}) {
    super('FloatLogSlider', { value: 1, min: 0, max: 4, step: 0.1, base: 10, readout_format: '.3g' }, options);
  }

  protected override valueRange(state: LogSliderState): [number, number] {
    return [state.base ** state.min, state.base ** state.max];
  }
}

export type CheckboxState = DescribedState & {
  value: boolean;
  disabled: boolean;
  indent: boolean;
};

/** A checkbox (CheckboxModel). */
export class Checkbox extends ValueWidget<boolean, CheckboxState> {
  constructor(options: Options<CheckboxState> = {}) {
    super(controlSpec('Checkbox'), {
      ...describedState('CheckboxStyleModel', options), value: false, disabled: false, indent: true, ...ownKeys(options),
    });
  }

  protected override validate(changes: Partial<CheckboxState>): Partial<CheckboxState> {
    if ('value' in changes && typeof changes.value !== 'boolean') throw new Error(`Checkbox: 'value' must be a boolean, got ${JSON.stringify(changes.value)}`);
    return changes;
  }
}

export type TextState = DescribedState & {
  value: string;
  placeholder: string;
};

/** Plain text (LabelModel). */
export class Label extends ValueWidget<string, TextState> {
  constructor(options: Options<TextState> = {}) {
    super(controlSpec('Label'), { ...describedState('LabelStyleModel', options), value: '', placeholder: '\u200b', ...ownKeys(options) });
  }
}

/** HTML text (HTMLModel). */
export class HTML extends ValueWidget<string, TextState> {
  constructor(options: Options<TextState> = {}) {
    super(controlSpec('HTML'), { ...describedState('HTMLStyleModel', options), value: '', placeholder: '\u200b', ...ownKeys(options) });
  }
}

export type DropdownState = DescribedState & {
  _options_labels: string[];
  index: number | null;
  disabled: boolean;
};

/** One choice of a dropdown: a label, or a label with the typed value it stands for. */
export type DropdownOption<T> = string | [string, T];

/**
 * A dropdown (DropdownModel). The frontend syncs only the labels and the selected index; the
 * typed values stay in the kernel, and `value` maps the index to them.
 */
export class Dropdown<T = string> extends Widget<DropdownState> implements ValueControl<T> {
  readonly options: readonly [string, T][];

  constructor(options: Options<Omit<DropdownState, '_options_labels'>> & { options: DropdownOption<T>[]; value?: T }) {
    const pairs = options.options.map((o) => (typeof o === 'string' ? [o, o as unknown as T] : o) as [string, T]);
    if (pairs.length === 0) throw new Error("Dropdown: 'options' is empty");
    const { options: _options, value, ...rest } = options;
    let index = rest.index ?? 0;
    if (value !== undefined) {
      index = pairs.findIndex(([, v]) => v === value);
      if (index < 0) throw new Error(`Dropdown: 'value' ${JSON.stringify(value)} is not one of the options`);
    }
    super(controlSpec('Dropdown'), {
      ...describedState('DescriptionStyleModel', rest), _options_labels: pairs.map(([label]) => label), disabled: false,
      ...ownKeys(rest), index: index,
    });
    this.options = pairs;
  }

  get value(): T {
    const index = this.get('index');
    if (index === null) throw new Error('Dropdown: nothing selected (index is null)');
    return this.options[index][1];
  }

  set value(v: T) {
    const index = this.options.findIndex(([, option]) => option === v);
    if (index < 0) throw new Error(`Dropdown: 'value' ${JSON.stringify(v)} is not one of the options`);
    this.set({ index: index });
  }

  /** Calls `handler(value, old)` after every change of the selection. */
  onChange(handler: ChangeHandler<T>): () => void {
    return this.observe('index', (index, old) => {
      if (index !== null && old !== null) handler(this.options[index][1], this.options[old][1]);
    });
  }

  valueText(): string {
    const index = this.get('index');
    return index === null ? 'null' : JSON.stringify(this.get('_options_labels')[index]);
  }

  override describe(): string {
    return `Dropdown(value=${this.valueText()}, options=${JSON.stringify(this.get('_options_labels'))})`;
  }

  protected override validate(changes: Partial<DropdownState>, next: DropdownState): Partial<DropdownState> {
    if ('_options_labels' in changes && JSON.stringify(changes._options_labels) !== JSON.stringify(this.get('_options_labels'))) {
      throw new Error("Dropdown: '_options_labels' is fixed at construction");
    }
    const i = next.index;
    if (i !== null && !(Number.isInteger(i) && i >= 0 && i < next._options_labels.length)) {
      throw new Error(`Dropdown: 'index' must be null or an integer in [0, ${next._options_labels.length - 1}], got ${JSON.stringify(i)}`);
    }
    return changes;
  }
}

export type ButtonState = DomState & {
  description: string;
  button_style: 'primary' | 'success' | 'info' | 'warning' | 'danger' | '';
  disabled: boolean;
  icon: string;
  style: string;
};

/** A button (ButtonModel); the frontend reports clicks as the custom message `{event: 'click'}`. */
export class Button extends Widget<ButtonState> {
  constructor(options: Options<ButtonState> = {}) {
    super(controlSpec('Button'), {
      ...domState(options), style: modelReference(new Style('ButtonStyleModel', options.style)),
      description: '', button_style: '', disabled: false, icon: '', ...ownKeys(options),
    });
  }

  /** Calls `handler` on every click. */
  onClick(handler: () => void): void {
    this.onCustom((content) => {
      if (content.event === 'click') handler();
    });
  }
}

export type BoxState = DomState & {
  box_style: 'success' | 'info' | 'warning' | 'danger' | '';
  children: string[];
};

/** A flex box of child widgets. */
abstract class Box extends Widget<BoxState> {
  protected constructor(name: 'HBox' | 'VBox', children: Widget<WidgetState>[], options: Options<BoxState>) {
    super(controlSpec(name), { ...domState(options), box_style: '', ...ownKeys(options), children: children.map(modelReference) });
  }
}

/** Children side by side (HBoxModel). */
export class HBox extends Box {
  constructor(children: Widget<WidgetState>[], options: Options<BoxState> = {}) {
    super('HBox', children, options);
  }
}

/** Children one under the other (VBoxModel). */
export class VBox extends Box {
  constructor(children: Widget<WidgetState>[], options: Options<BoxState> = {}) {
    super('VBox', children, options);
  }
}
