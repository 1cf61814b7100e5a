"""Jupyter widgets end to end: lib/display/widgets.ts in the alignmix kernel, driven over the wire.

Runs on the project venv's Python (`nbtools.py widgets`), which has jupyter_client and ipywidgets
8.1.9: this test plays the frontend (JupyterLab's widget manager) with jupyter_client, and uses
Python's ipywidgets as the reference for what each model's state must hold.

Checked: the comm_open of every model (target jupyter.widget, metadata version 2.1.0, data
{state, buffer_paths}) has exactly the keys and default values that ipywidgets 8.1.9 sends for the
same model; a widget's display_data carries the widget-view MIME type; a frontend `update` is
echoed (echo_update), changes the kernel-side value and runs its observer (whose own update and
printout are parented to the frontend's message); a value out of range is corrected with an
`update`; request_state returns the full state; a Button click (custom message) runs its handler;
interact redraws into its Output widget, which captures by the comm message's msg_id;
comm_info lists the widget comms; the jupyter.widget.control comm answers request_states.
"""
from __future__ import annotations

import os
import unittest
from queue import Empty

from jupyter_client.manager import start_new_kernel

TIMEOUT = 60
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class WidgetProtocolTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="alignmix", startup_timeout=120)
        reply, _ = cls.run_code("import * as W from './lib/display/widgets';")
        assert reply["status"] == "ok", reply

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    @classmethod
    def drain(cls):
        for get in (cls.kc.get_shell_msg, cls.kc.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.2)
                except Empty:
                    break

    @classmethod
    def iopub_until_idle(cls, msg_id):
        """iopub messages parented to `msg_id` until the kernel goes idle on it."""
        found = []
        while True:
            msg = cls.kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return found
            if msg["msg_type"] != "status":
                found.append(msg)

    @classmethod
    def run_code(cls, code):
        cls.drain()
        msg_id = cls.kc.execute(code)
        while True:
            reply = cls.kc.get_shell_msg(timeout=TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        return reply["content"], cls.iopub_until_idle(msg_id)

    @classmethod
    def frontend_sends(cls, msg_type, content):
        """A comm message from 'the frontend'; the kernel's iopub answers parented to it."""
        cls.drain()
        msg = cls.kc.session.msg(msg_type, content)
        cls.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"], cls.iopub_until_idle(msg["header"]["msg_id"])

    def comm_msgs(self, messages, comm_id):
        return [m["content"]["data"] for m in messages if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id]

    def stdout(self, messages):
        return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    def opened(self, messages):
        """model id -> state, of the jupyter.widget comms opened in `messages`."""
        states = {}
        for m in messages:
            if m["msg_type"] == "comm_open":
                self.assertEqual(m["content"]["target_name"], "jupyter.widget")
                self.assertEqual(m["metadata"].get("version"), "2.1.0")
                self.assertEqual(m["content"]["data"]["buffer_paths"], [])
                states[m["content"]["comm_id"]] = m["content"]["data"]["state"]
        return states

    def test_model_states_match_ipywidgets(self):
        import ipywidgets as widgets

        reference = {
            "IntSlider": widgets.IntSlider, "FloatSlider": widgets.FloatSlider, "FloatLogSlider": widgets.FloatLogSlider,
            "Checkbox": widgets.Checkbox, "Button": widgets.Button, "Label": widgets.Label, "HTML": widgets.HTML,
            "Output": widgets.Output, "HBox": widgets.HBox, "VBox": widgets.VBox,
        }
        made = {
            "Dropdown": ("new W.Dropdown({ options: ['a', 'b'] })", lambda: widgets.Dropdown(options=["a", "b"])),
            **{name: (f"new W.{name}({'[]' if name.endswith('Box') else ''})", cls) for name, cls in reference.items()},
        }
        classes_by_model = {}
        for name, (code, make) in made.items():
            with self.subTest(widget=name):
                reply, messages = self.run_code(f"{code}.display();")
                self.assertEqual(reply["status"], "ok", reply)
                states = self.opened(messages)
                expected = make()
                # Ours opens the layout (and style) first, then the widget: the last comm is the widget.
                ours = {model_id: state for model_id, state in states.items()}
                widget_id = list(ours)[-1]
                displayed = [m for m in messages if m["msg_type"] == "display_data"]
                self.assertEqual(len(displayed), 1)
                self.assertEqual(displayed[0]["content"]["data"]["application/vnd.jupyter.widget-view+json"], {"model_id": widget_id, "version_major": 2, "version_minor": 0})
                pairs = [(ours[widget_id], expected)]
                for ref in ("layout", "style"):
                    if ref in ours[widget_id]:
                        self.assertTrue(ours[widget_id][ref].startswith("IPY_MODEL_"))
                        pairs.append((ours[ours[widget_id][ref][len("IPY_MODEL_"):]], getattr(expected, ref)))
                for state, model in pairs:
                    want = model.get_state()
                    classes_by_model[want["_model_name"]] = type(model).__name__
                    self.assertEqual(sorted(state), sorted(want), f"{want['_model_name']}: state keys")
                    for key, value in want.items():
                        if key in ("layout", "style", "children"):
                            continue  # references: ids differ
                        self.assertEqual(state[key], list(value) if isinstance(value, tuple) else value, f"{want['_model_name']}.{key}")
        self.assertIn("SliderStyleModel", classes_by_model)
        self.assertIn("ButtonStyleModel", classes_by_model)

    def test_frontend_update_echo_observer_and_clamp(self):
        reply, messages = self.run_code(
            "const s = new W.IntSlider({ value: 3, min: 0, max: 10 }); const seen = new W.Label({ value: 'none' });\n"
            "s.onChange((v, old) => { seen.value = `${old} -> ${v}`; console.log(`observer ${old} -> ${v}`); });\n"
            "console.log(JSON.stringify({ slider: s.id, label: seen.id }));"
        )
        self.assertEqual(reply["status"], "ok", reply)
        import json

        ids = json.loads(self.stdout(messages))
        msg_id, answers = self.frontend_sends("comm_msg", {"comm_id": ids["slider"], "data": {"method": "update", "state": {"value": 7}, "buffer_paths": []}})
        self.assertEqual(self.comm_msgs(answers, ids["slider"]), [{"method": "echo_update", "state": {"value": 7}, "buffer_paths": []}])
        self.assertEqual(self.comm_msgs(answers, ids["label"]), [{"method": "update", "state": {"value": "3 -> 7"}, "buffer_paths": []}])
        self.assertEqual(self.stdout(answers), "observer 3 -> 7\n")
        _, messages = self.run_code("console.log(s.value, typeof s.value, seen.value)")
        self.assertEqual(self.stdout(messages), "7 number 3 -> 7\n")

        _, answers = self.frontend_sends("comm_msg", {"comm_id": ids["slider"], "data": {"method": "update", "state": {"value": 50}, "buffer_paths": []}})
        self.assertEqual(self.comm_msgs(answers, ids["slider"]), [
            {"method": "echo_update", "state": {"value": 50}, "buffer_paths": []},
            {"method": "update", "state": {"value": 10}, "buffer_paths": []},
        ])

        _, answers = self.frontend_sends("comm_msg", {"comm_id": ids["slider"], "data": {"method": "request_state"}})
        [full] = self.comm_msgs(answers, ids["slider"])
        self.assertEqual(full["method"], "update")
        self.assertEqual((full["state"]["_model_name"], full["state"]["value"], full["state"]["max"]), ("IntSliderModel", 10, 10))

        self.drain()
        info_id = self.kc.comm_info(target_name="jupyter.widget")
        while True:
            info = self.kc.get_shell_msg(timeout=TIMEOUT)
            if info["parent_header"].get("msg_id") == info_id:
                break
        self.assertIn(ids["slider"], info["content"]["comms"])
        self.assertEqual(info["content"]["comms"][ids["slider"]], {"target_name": "jupyter.widget"})

        control = "frontend-control-comm"
        self.frontend_sends("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}})
        _, answers = self.frontend_sends("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
        [states] = self.comm_msgs(answers, control)
        self.assertEqual(states["method"], "update_states")
        self.assertEqual(states["states"][ids["slider"]]["value"], 10)
        self.assertEqual(states["states"][ids["label"]]["value"], "7 -> 10", "the clamped value ran the observer too")

    def test_button_click_and_interact_capture(self):
        import json

        reply, messages = self.run_code(
            "const b = new W.Button({ description: 'go' }); b.onClick(() => console.log('clicked'));\n"
            "const n = new W.IntSlider({ value: 2, max: 9 });\n"
            "const ui = await W.interact({ n: n }, ({ n: v }) => console.log(`drawn n=${v}`));\n"
            "console.log(JSON.stringify({ button: b.id, slider: n.id, output: ui.output.id }));"
        )
        self.assertEqual(reply["status"], "ok", reply)
        text = self.stdout(messages)
        ids = json.loads(text.splitlines()[-1])
        # The first drawing, captured during the execute request.
        self.assertIn("drawn n=2\n", text)
        self.assertEqual(self.comm_msgs(messages, ids["output"])[0]["state"], {"msg_id": messages[0]["parent_header"]["msg_id"]})

        _, answers = self.frontend_sends("comm_msg", {"comm_id": ids["button"], "data": {"method": "custom", "content": {"event": "click"}}})
        self.assertEqual(self.stdout(answers), "clicked\n")

        msg_id, answers = self.frontend_sends("comm_msg", {"comm_id": ids["slider"], "data": {"method": "update", "state": {"value": 5}, "buffer_paths": []}})
        sequence = []
        for m in answers:
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == ids["output"]:
                sequence.append(("msg_id", m["content"]["data"]["state"]["msg_id"]))
            elif m["msg_type"] in ("clear_output", "stream"):
                sequence.append((m["msg_type"], m["content"].get("wait", m["content"].get("text"))))
        self.assertEqual(sequence, [("msg_id", msg_id), ("clear_output", True), ("stream", "drawn n=5\n"), ("msg_id", "")])


if __name__ == "__main__":
    os.chdir(REPO)
    unittest.main(verbosity=2)
