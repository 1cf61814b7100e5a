/**
 * The widget messages against the Jupyter widget protocol 2.1 (ipywidgets packages/schema/messages.md)
 * and the model specs of @jupyter-widgets/controls 2.0.0 / base 2.0.0 / output 1.0.0
 * (jupyterwidgetmodels.latest.md), on an in-process fake kernel that records what is sent.
 * The same messages against the real kernel and Python's ipywidgets: notebooks/tools/widget_protocol.py.
 */
import { strict as assert } from 'assert';
import {
  Button, Checkbox, Dropdown, FloatLogSlider, FloatSlider, HBox, IntSlider, Label, Output, VBox, WIDGET_VIEW_MIME, interact,
} from '../../lib/display/widgets';
import { MIME_BUNDLE } from '../../lib/display/kernel-api';
import { FakeKernel, Sent } from './fake-kernel';

const CONTROLS = { _model_module: '@jupyter-widgets/controls', _model_module_version: '2.0.0', _view_module: '@jupyter-widgets/controls', _view_module_version: '2.0.0' };
const msgs = (log: Sent[], commId: string) => log.filter((s): s is Extract<Sent, { kind: 'msg' }> => s.kind === 'msg' && s.commId === commId).map((s) => s.data);

describe('display: widgets (protocol 2.1 on a fake kernel)', () => {
  let kernel: FakeKernel;
  beforeEach(() => {
    kernel = new FakeKernel().install();
  });
  afterEach(() => FakeKernel.uninstall());

  it('comm_open on jupyter.widget carries {state, buffer_paths}, metadata version 2.1.0, and the full IntSliderModel state after its layout and style', () => {
    const s = new IntSlider({ value: 3, min: -2, max: 10, description: 'n' });
    const opens = kernel.log.filter((e): e is Extract<Sent, { kind: 'open' }> => e.kind === 'open');
    assert.deepEqual(opens.map((o) => o.target), ['jupyter.widget', 'jupyter.widget', 'jupyter.widget']);
    assert.ok(opens.every((o) => o.metadata?.version === '2.1.0'));
    const [layout, style, slider] = opens;
    assert.equal(slider.commId, s.id);
    assert.deepEqual(Object.keys(slider.data).sort(), ['buffer_paths', 'state']);
    assert.deepEqual(slider.data.buffer_paths, []);
    // Every attribute of IntSliderModel in the spec, defaults except the ones given.
    assert.deepEqual(slider.data.state, {
      ...CONTROLS, _model_name: 'IntSliderModel', _view_name: 'IntSliderView', _view_count: null, _dom_classes: [],
      behavior: 'drag-tap', continuous_update: true, description: 'n', description_allow_html: false, disabled: false,
      layout: `IPY_MODEL_${layout.commId}`, max: 10, min: -2, orientation: 'horizontal', readout: true, readout_format: 'd',
      step: 1, style: `IPY_MODEL_${style.commId}`, tabbable: null, tooltip: null, value: 3,
    });
    assert.equal(layout.data.state._model_name, 'LayoutModel');
    assert.equal(layout.data.state._model_module, '@jupyter-widgets/base');
    assert.equal(layout.data.state._view_name, 'LayoutView');
    assert.equal(Object.keys(layout.data.state).length, 7 + 39, 'LayoutModel: 6 model/view keys, _view_count, 39 CSS keys');
    assert.equal(layout.data.state.width, null);
    assert.deepEqual(style.data.state, {
      _model_module: '@jupyter-widgets/controls', _model_module_version: '2.0.0', _model_name: 'SliderStyleModel',
      _view_module: '@jupyter-widgets/base', _view_module_version: '2.0.0', _view_name: 'StyleView', _view_count: null,
      description_width: '', handle_color: null,
    });
  });

  it('display() sends the widget-view MIME bundle {model_id, version_major 2, version_minor 0} with a text/plain fallback', () => {
    const s = new FloatSlider({ value: 0.25, min: 0, max: 1 });
    s.display();
    const shown = kernel.log[kernel.log.length - 1];
    assert.equal(shown.kind, 'display');
    assert.deepEqual((shown as Extract<Sent, { kind: 'display' }>).bundle, {
      [WIDGET_VIEW_MIME]: { model_id: s.id, version_major: 2, version_minor: 0 },
      'text/plain': 'FloatSlider(value=0.25)',
    });
  });

  it('a kernel-side change sends one update with only the changed keys, none when nothing changed, and fires observers with (new, old)', () => {
    const s = new FloatSlider({ value: 0.5, min: 0, max: 1, step: 0.01 });
    const seen: [number, number][] = [];
    s.onChange((v, old) => seen.push([v, old]));
    const mark = kernel.log.length;
    s.value = 0.75;
    s.set({ value: 0.75, description: 'λ' });
    s.value = 0.75;
    assert.deepEqual(msgs(kernel.since(mark), s.id), [
      { method: 'update', state: { value: 0.75 }, buffer_paths: [] },
      { method: 'update', state: { description: 'λ' }, buffer_paths: [] },
    ]);
    assert.deepEqual(seen, [[0.75, 0.5]]);
  });

  it('a frontend update is echoed (echo_update) before it is applied; the value round-trips typed and observers fire', () => {
    const s = new FloatSlider({ value: 0.5, min: 0, max: 1 });
    const seen: number[] = [];
    s.onChange((v) => seen.push(v));
    const mark = kernel.log.length;
    kernel.fromFrontend(s.id, { method: 'update', state: { value: 0.125, unknown_key: 1 }, buffer_paths: [] });
    assert.equal(s.value, 0.125);
    assert.equal(typeof s.value, 'number');
    assert.deepEqual(seen, [0.125]);
    // Only the echo goes back (keys the model lacks are dropped); no update since nothing was corrected.
    assert.deepEqual(msgs(kernel.since(mark), s.id), [{ method: 'echo_update', state: { value: 0.125 }, buffer_paths: [] }]);
  });

  it('a frontend value outside [min, max] is echoed, clamped as ipywidgets does, and the correction sent as update', () => {
    const s = new IntSlider({ value: 5, min: 0, max: 10 });
    const mark = kernel.log.length;
    kernel.fromFrontend(s.id, { method: 'update', state: { value: 50 }, buffer_paths: [] });
    assert.equal(s.value, 10);
    assert.deepEqual(msgs(kernel.since(mark), s.id), [
      { method: 'echo_update', state: { value: 50 }, buffer_paths: [] },
      { method: 'update', state: { value: 10 }, buffer_paths: [] },
    ]);
  });

  it('request_state is answered with an update holding the full state', () => {
    const c = new Checkbox({ value: true, description: 'log scale' });
    const mark = kernel.log.length;
    kernel.fromFrontend(c.id, { method: 'request_state' });
    const [reply] = msgs(kernel.since(mark), c.id);
    assert.equal(reply.method, 'update');
    assert.deepEqual(reply.state, kernel.opened(c.id).data.state);
    assert.equal(reply.state.value, true);
  });

  it('jupyter.widget.control answers request_states with every live widget state in one update_states', () => {
    const a = new Label({ value: 'x' });
    const b = new IntSlider();
    b.close();
    const control = kernel.frontendOpens('jupyter.widget.control');
    const mark = kernel.log.length;
    kernel.fromFrontend(control, { method: 'request_states' });
    const [reply] = msgs(kernel.since(mark), control);
    assert.equal(reply.method, 'update_states');
    assert.deepEqual(reply.buffer_paths, []);
    assert.deepEqual(reply.states[a.id], kernel.opened(a.id).data.state);
    assert.equal(reply.states[b.id], undefined, 'a closed widget is not restored');
    assert.ok(Object.values(reply.states).some((st: any) => st._model_name === 'LabelStyleModel'));
  });

  it('a Button click arrives as custom {event: "click"} and fires the handler; sendCustom sends {method: custom, content}', () => {
    const button = new Button({ description: 'resample', button_style: 'primary' });
    assert.equal(kernel.opened(button.id).data.state._model_name, 'ButtonModel');
    assert.equal(kernel.opened(kernel.opened(button.id).data.state.style.slice('IPY_MODEL_'.length)).data.state._model_name, 'ButtonStyleModel');
    let clicks = 0;
    button.onClick(() => clicks++);
    kernel.fromFrontend(button.id, { method: 'custom', content: { event: 'click' } });
    kernel.fromFrontend(button.id, { method: 'custom', content: { event: 'other' } });
    assert.equal(clicks, 1);
    const mark = kernel.log.length;
    button.sendCustom({ hello: 1 });
    assert.deepEqual(msgs(kernel.since(mark), button.id), [{ method: 'custom', content: { hello: 1 } }]);
  });

  it('Dropdown syncs labels and index, maps the index to typed values both ways', () => {
    const d = new Dropdown<number>({ options: [['ten', 10], ['twenty', 20], ['thirty', 30]], value: 20, description: 'n' });
    const state = kernel.opened(d.id).data.state;
    assert.deepEqual([state._model_name, state._options_labels, state.index], ['DropdownModel', ['ten', 'twenty', 'thirty'], 1]);
    assert.equal(kernel.opened(state.style.slice('IPY_MODEL_'.length)).data.state._model_name, 'DescriptionStyleModel');
    assert.equal('value' in state, false, 'ipywidgets 8 does not sync a Dropdown value');
    const seen: [number, number][] = [];
    d.onChange((v, old) => seen.push([v, old]));
    kernel.fromFrontend(d.id, { method: 'update', state: { index: 2 }, buffer_paths: [] });
    assert.equal(d.value, 30);
    assert.equal(d.valueText(), '"thirty"');
    d.value = 10;
    assert.deepEqual(seen, [[30, 20], [10, 30]]);
    assert.throws(() => (d.value = 15), /Dropdown: 'value' 15 is not one of the options/);
  });

  it('HBox / VBox reference their children as IPY_MODEL_<id>', () => {
    const a = new IntSlider();
    const b = new Checkbox();
    const h = new HBox([a, b]);
    const v = new VBox([h]);
    assert.deepEqual(kernel.opened(h.id).data.state.children, [`IPY_MODEL_${a.id}`, `IPY_MODEL_${b.id}`]);
    assert.deepEqual(kernel.opened(v.id).data.state.children, [`IPY_MODEL_${h.id}`]);
    assert.equal(kernel.opened(v.id).data.state._model_name, 'VBoxModel');
    assert.equal(kernel.opened(h.id).data.state.box_style, '');
  });

  it('Output.capture sets msg_id to the current request around the captured outputs, then back to "" (nested and async too)', async () => {
    const out = new Output();
    assert.deepEqual(
      { ...kernel.opened(out.id).data.state, layout: '' },
      { _model_module: '@jupyter-widgets/output', _model_module_version: '1.0.0', _model_name: 'OutputModel', _view_module: '@jupyter-widgets/output', _view_module_version: '1.0.0', _view_name: 'OutputView', _view_count: null, _dom_classes: [], layout: '', msg_id: '', outputs: [], tabbable: null, tooltip: null },
    );
    let mark = kernel.log.length;
    const r = out.capture(() => {
      kernel.display({ 'text/plain': 'inside' });
      out.capture(() => kernel.display({ 'text/plain': 'nested' }));
      return 7;
    });
    assert.equal(r, 7);
    const stateOf = (s: Sent) => (s.kind === 'msg' ? s.data.state : s.kind === 'display' ? s.bundle['text/plain'] : s.kind);
    assert.deepEqual(kernel.since(mark).map(stateOf), [{ msg_id: 'execute-1' }, 'inside', 'nested', { msg_id: '' }]);

    mark = kernel.log.length;
    let release!: () => void;
    const pending = out.capture(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      kernel.display({ 'text/plain': 'late' });
    });
    assert.deepEqual(kernel.since(mark).map(stateOf), [{ msg_id: 'execute-1' }], 'still capturing while the promise is pending');
    release();
    await pending;
    assert.deepEqual(kernel.since(mark).map(stateOf), [{ msg_id: 'execute-1' }, 'late', { msg_id: '' }]);

    mark = kernel.log.length;
    assert.throws(() => out.capture(() => { throw new Error('boom'); }), /boom/);
    assert.deepEqual(kernel.since(mark).map(stateOf), [{ msg_id: 'execute-1' }, { msg_id: '' }], 'an error ends the capture');
  });

  it('interact displays the controls and an Output in a VBox, draws inside the capture, and redraws within a frontend change', async () => {
    const lambda = new FloatSlider({ value: 0.5, min: 0, max: 1, description: 'λ' });
    const eps = new FloatLogSlider({ value: 0.01, min: -3, max: 0, description: 'ε' });
    const drawn: { lambda: number; eps: number }[] = [];
    const ui = await interact({ lambda: lambda, eps: eps }, (v) => {
      drawn.push(v);
      kernel.display({ 'text/plain': `λ=${v.lambda} ε=${v.eps}` });
    });
    assert.deepEqual(drawn, [{ lambda: 0.5, eps: 0.01 }]);
    const shown = kernel.log.find((s): s is Extract<Sent, { kind: 'display' }> => s.kind === 'display' && WIDGET_VIEW_MIME in s.bundle)!;
    assert.equal(shown.bundle[WIDGET_VIEW_MIME].model_id, ui.box.id);
    assert.deepEqual(kernel.opened(ui.box.id).data.state.children, [lambda.id, eps.id, ui.output.id].map((id) => `IPY_MODEL_${id}`));

    const mark = kernel.log.length;
    kernel.fromFrontend(lambda.id, { method: 'update', state: { value: 0.25 }, buffer_paths: [] }, 'comm-msg-7');
    // A synchronous drawing is complete when the frontend's message has been handled, as with ipywidgets.
    assert.deepEqual(drawn.slice(1), [{ lambda: 0.25, eps: 0.01 }]);
    const onOutput = kernel.since(mark).filter((s) => s.kind !== 'msg' || s.commId === ui.output.id);
    assert.deepEqual(onOutput.map((s) => (s.kind === 'msg' ? s.data.state : s.kind === 'clear' ? `clear wait=${s.wait}` : s.kind === 'display' ? s.bundle['text/plain'] : s.kind)), [
      { msg_id: 'comm-msg-7' }, 'clear wait=true', 'λ=0.25 ε=0.01', { msg_id: '' },
    ]);
  });

  it('interact coalesces changes that arrive during an async drawing into one more drawing with the latest values', async () => {
    const n = new IntSlider({ value: 1, max: 100 });
    const drawn: number[] = [];
    const gates: (() => void)[] = [];
    const ui = await interact({ n: n }, async ({ n: v }) => {
      drawn.push(v);
      if (drawn.length > 1) await new Promise<void>((resolve) => gates.push(resolve)); // every drawing after the first waits
    });
    for (const v of [2, 3, 4]) kernel.fromFrontend(n.id, { method: 'update', state: { value: v }, buffer_paths: [] });
    assert.deepEqual(drawn, [1, 2], 'drawing with 2 under way');
    gates.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(drawn, [1, 2, 4], '3 was superseded by 4 before it could be drawn');
    gates.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(drawn, [1, 2, 4], 'no drawing after the latest values were drawn');
    assert.equal(gates.length, 0);
    const again = ui.redraw();
    gates.shift()!();
    await again;
    assert.deepEqual(drawn, [1, 2, 4, 4]);
    assert.deepEqual(ui[MIME_BUNDLE](), { 'text/plain': 'interact(n=4)' }, 'a cell ending with the interaction shows one line');
  });

  it('interact rejects when the first drawing throws (so the notebook cell fails)', async () => {
    await assert.rejects(interact({ x: new IntSlider() }, () => { throw new Error('bad draw'); }), /bad draw/);
  });

  it('validation errors name the model and key', () => {
    assert.throws(() => new IntSlider({ value: 2.5 }), /IntSliderModel: 'value' must be a finite integer, got 2.5/);
    assert.throws(() => new FloatSlider({ min: 2, max: 1 }), /FloatSliderModel: 'min' \(2\) must not exceed 'max' \(1\)/);
    const s = new IntSlider({ value: 5, max: 10 });
    assert.throws(() => s.set({ nope: 1 } as any), /IntSliderModel: no state key 'nope'/);
    assert.throws(() => new Checkbox({ value: 'yes' as any }), /Checkbox: 'value' must be a boolean/);
    assert.throws(() => new Dropdown({ options: [] }), /Dropdown: 'options' is empty/);
    s.set({ max: 3 });
    assert.equal(s.value, 3, 'lowering max clamps the value, as ipywidgets does');
    const log = new FloatLogSlider({ value: 5000, min: -2, max: 2 });
    assert.equal(log.value, 100, 'a log slider clamps into [base^min, base^max]');
  });

  it('close() sends comm_close; later changes throw', () => {
    const s = new IntSlider();
    s.close();
    assert.deepEqual(kernel.log[kernel.log.length - 1], { kind: 'close', commId: s.id });
    assert.throws(() => (s.value = 3), /IntSliderModel .*set\(\) after close\(\)/);
  });
});

describe('display: widgets outside the kernel', () => {
  it('widgets work as local values; display() and interact print that widgets need the kernel; interact draws once', async () => {
    FakeKernel.uninstall();
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => lines.push(args.join(' '));
    try {
      const s = new IntSlider({ value: 4, max: 8 });
      const seen: number[] = [];
      s.onChange((v) => seen.push(v));
      s.value = 6;
      assert.deepEqual(seen, [6]);
      assert.equal(s.live, false);
      s.display();
      const drawn: number[] = [];
      const ui = await interact({ s: s }, ({ s: v }) => drawn.push(v));
      assert.deepEqual(drawn, [6]);
      assert.deepEqual(ui.values(), { s: 6 });
    } finally {
      console.log = log;
    }
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^IntSlider\(value=6\) \(text only; widgets need the alignmix kernel: npm run lab\)$/);
    assert.match(lines[1], /^interact: drawing once with s=6 \(widgets need the alignmix kernel: npm run lab\)$/);
  });
});
