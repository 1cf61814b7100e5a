"""Jupyter protocol conformance of the alignmix kernel (kernel/kernels/alignmix), with jupyter_kernel_test.

Runs on the system Python that has Debian's python3-jupyter-kernel-test (it is not on the pip
mirror); `nbtools.py conformance` starts it with JUPYTER_PATH pointing at kernel/.

Every check jupyter_kernel_test offers is configured (kernel_info, stdout, stderr, execute_result,
error, display_data, history tail/range/search, is_complete complete/incomplete/invalid,
completion, inspect, pager, clear_output); a skip counts as a failure (see `main`). The alignmix
checks below go through jupyter_client directly: interrupting an awaited loop stops it and keeps
the state, tracebacks name cell lines, comms round-trip, late async errors land on their cell,
tensors render as execute_result, stdin input, display updates by display_id.
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest
from pathlib import Path
from queue import Empty

import jupyter_kernel_test

API = "(globalThis as any)[Symbol.for('alignmix.kernel')]"
# Cells that compile lib/ files or load TensorFlow: generous on a loaded 2-core CI machine.
SLOW = 300


class AlignmixKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "alignmix"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "const s: string = 'ab'; s + 'c'", "result": "'abc'"},
        {"code": "[1, 2].map((x) => x * 2)", "result": "[ 2, 4 ]"},
    ]
    code_generate_error = 'throw new RangeError("broken on purpose")'
    code_display_data = [
        {"code": f"{API}.display({{'text/html': '<b>bold</b>', 'text/plain': 'bold'}})", "mime": "text/html"},
        {"code": f"{API}.display({{'image/svg+xml': '<svg xmlns=\"http://www.w3.org/2000/svg\"/>', 'text/plain': 'svg'}})", "mime": "image/svg+xml"},
        {"code": 'import * as tslab from "tslab"; tslab.display.text("plain")', "mime": "text/plain"},
    ]
    code_page_something = f"{API}.page({{'text/plain': 'paged text'}})"
    code_clear_output = f"console.log('gone'); {API}.clearOutput()"
    code_history_pattern = "6 * 7"
    supported_history_operations = ("tail", "range", "search")
    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]
    code_inspect_sample = "Math.max"
    complete_code_samples = ["const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const a = ["]
    invalid_code_samples = ["const 1x = 2;", "let = ;"]

    @classmethod
    def setUpClass(cls):
        # The kernel keeps history in a file across sessions (kernel/history.js): give it a file of
        # its own with one earlier session, so the checks neither read nor add to the user's history.
        cls.history_dir = tempfile.mkdtemp(prefix="alignmix-history-")
        history = Path(cls.history_dir) / "history.jsonl"
        history.write_text(json.dumps({"session": 1, "line": 4, "input": "earlierSession * 2", "output": "84"}) + "\n")
        os.environ["ALIGNMIX_HISTORY_FILE"] = str(history)
        super().setUpClass()
        # The kernel answers kernel_info before it builds its compiler (seconds); wait for that here
        # so the first check's 15 s budget is spent on the check.
        msg_id = cls.kc.execute("0")
        while cls.kc.get_shell_msg(timeout=SLOW)["parent_header"].get("msg_id") != msg_id:
            pass

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.history_dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def flush(self):
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.1)
                except Empty:
                    break

    def collect(self, msg_id, timeout=jupyter_kernel_test.TIMEOUT):
        """(reply content, iopub messages) of request `msg_id`, up to its idle status."""
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        messages = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            if msg["msg_type"] not in ("status", "execute_input"):
                messages.append(msg)
        return reply["content"], messages

    def outputs(self, code, timeout=jupyter_kernel_test.TIMEOUT, **kw):
        self.flush()
        return self.collect(self.kc.execute(code, **kw), timeout=timeout)

    @staticmethod
    def stdout(messages):
        return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    # ------------------------------------------------------------------ alignmix checks

    def test_alignmix_kernel_info_versions(self):
        self.flush()
        self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=jupyter_kernel_test.TIMEOUT)
        info = reply["content"]
        self.assertEqual(info["status"], "ok")
        self.assertEqual(info["implementation"], "alignmix")
        # The TypeScript that compiles cells: the project's devDependency, not tslab's bundled 5.0.
        ts_pkg = Path(__file__).resolve().parents[2] / "node_modules" / "typescript" / "package.json"
        self.assertEqual(info["language_info"]["version"], json.loads(ts_pkg.read_text())["version"])
        # ... and it is what compiles: NoInfer is a TypeScript 5.4 lib type (5.0 says "Cannot find name").
        reply, messages = self.outputs("const pick = <T,>(xs: T[], fallback: NoInfer<T>) => xs[0] ?? fallback; pick([3], 4)")
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual([m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "execute_result"], ["3"])

    def test_alignmix_history_across_sessions(self):
        # The earlier session written in setUpClass is found, with its number; this kernel is session 2.
        reply, _ = self.outputs("const thisSession = 21; thisSession * 2")
        self.assertEqual(reply["status"], "ok")
        msg_id = self.kc.history(hist_access_type="search", pattern="*Session * 2", output=True, raw=True)
        rows = self.collect(msg_id)[0]["history"]
        self.assertEqual([tuple(rows[0][:2]), rows[0][2][1]], [(1, 4), "84"])
        self.assertEqual(rows[-1][0], 2)
        self.assertEqual(rows[-1][2], ["const thisSession = 21; thisSession * 2", "42"])
        msg_id = self.kc.history(hist_access_type="range", session=1, start=1, stop=None, raw=True, output=False)
        self.assertEqual(self.collect(msg_id)[0]["history"], [[1, 4, "earlierSession * 2"]])

    def test_alignmix_repo_root_imports(self):
        reply, messages = self.outputs("import { quickMode } from './lib/train/plan'; console.log(process.cwd(), typeof quickMode)", timeout=SLOW)
        self.assertEqual(reply["status"], "ok")
        cwd, kind = self.stdout(messages).split()
        self.assertTrue((Path(cwd) / "kernel" / "launch.js").is_file(), f"kernel cwd {cwd} is not the repository root")
        self.assertEqual(kind, "function")

    def test_alignmix_survives_new_folder(self):
        # A folder appearing under a watched one used to break tslab's watch compiler for good
        # (kernel/launch.js turns directory watchers off); lib/ is watched once a cell imports it.
        reply, _ = self.outputs("import { inKernel } from './lib/display/kernel'; inKernel()", timeout=SLOW)
        self.assertEqual(reply["status"], "ok")
        probe = Path(__file__).resolve().parents[2] / "lib" / f".kernel-check-{os.getpid()}"
        try:
            probe.mkdir()
            for _ in range(3):
                (probe / "probe.txt").write_text("x")
                time.sleep(0.2)
                (probe / "probe.txt").unlink()
                time.sleep(0.2)
            time.sleep(1)
            reply, messages = self.outputs("console.log('still compiling')")
        finally:
            shutil.rmtree(probe, ignore_errors=True)
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(self.stdout(messages), "still compiling\n")

    def test_alignmix_display_update(self):
        code = f"{API}.display({{'text/html': '<i>first</i>'}}, {{ displayId: 'd1' }}); {API}.display({{'text/html': '<i>second</i>'}}, {{ displayId: 'd1', update: true }})"
        reply, messages = self.outputs(code)
        self.assertEqual(reply["status"], "ok")
        kinds = [(m["msg_type"], m["content"]["transient"].get("display_id"), m["content"]["data"]["text/html"]) for m in messages]
        self.assertEqual(kinds, [("display_data", "d1", "<i>first</i>"), ("update_display_data", "d1", "<i>second</i>")])

    def test_alignmix_traceback_names_cell_line(self):
        code = "const before = 1;\nfunction inner(n: number): number {\n  if (n > 0) throw new TypeError(`bad ${n}`);\n  return n;\n}\ninner(3);"
        reply, messages = self.outputs(code)
        self.assertEqual(reply["status"], "error")
        self.assertEqual((reply["ename"], reply["evalue"]), ("TypeError", "bad 3"))
        errors = [m for m in messages if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1)
        tb = "\n".join(errors[0]["content"]["traceback"])
        self.assertIn("line 3:", tb)  # the throw
        self.assertIn("if (n > 0) throw new TypeError", tb)  # its source line
        self.assertIn("line 6:", tb)  # the call
        for internal in ("evalmachine", "node_modules/tslab", "kernel/cells.js", "node:internal"):
            self.assertNotIn(internal, tb)
        # A failed cell keeps the declarations it made before failing.
        reply, messages = self.outputs("before + 1")
        self.assertEqual((reply["status"], messages[0]["content"]["data"]["text/plain"]), ("ok", "2"))

    def test_alignmix_traceback_maps_lib_frames_to_typescript(self):
        # A lib/ file compiled on the fly: its frames name the .ts file and line, found here in the source.
        config = Path(__file__).resolve().parents[2] / "lib" / "train" / "config.ts"
        throw_line = next(i for i, line in enumerate(config.read_text().splitlines(), 1) if "throw new Error(`Unknown protocol" in line)
        reply, messages = self.outputs("import { resolveConfig } from './lib/train/config';\nresolveConfig('no-such-protocol', {});", timeout=SLOW)
        self.assertEqual(reply["status"], "error")
        tb = "\n".join(next(m for m in messages if m["msg_type"] == "error")["content"]["traceback"])
        self.assertIn(f"(lib/train/config.ts:{throw_line}:", tb)
        self.assertNotIn("config.js", tb)
        self.assertIn("(In[", tb)

    def test_alignmix_type_error_is_an_error_message(self):
        reply, messages = self.outputs("const n: number = 1;\nconst s: string = n;")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "TypeScriptError")
        self.assertIn("2:7", reply["evalue"])
        self.assertEqual([m["msg_type"] for m in messages], ["error"])

    def test_alignmix_strict_and_shorthand(self):
        reply, _ = self.outputs("function f(x) { return x; }")
        self.assertEqual(reply["status"], "error", "tsconfig.json's strict (noImplicitAny) is not applied")
        reply, _ = self.outputs("const plan = { cost: 3 };")
        self.assertEqual(reply["status"], "ok")
        reply, messages = self.outputs("const wrapped = { plan }; wrapped.plan.cost")
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(messages[-1]["content"]["data"]["text/plain"], "3")

    def test_alignmix_interrupt_async_loop(self):
        self.outputs("let kept = 'before'; let steps = 0;")
        self.flush()
        msg_id = self.kc.execute("for (let i = 0; i < 20; i++) { steps = i + 1; console.log('step', i); await new Promise((r) => setTimeout(r, 150)); }")
        time.sleep(1.5)  # a few steps, then interrupt as Jupyter does (SIGINT, interrupt_mode "signal")
        self.km.interrupt_kernel()
        reply, messages = self.collect(msg_id)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        printed = self.stdout(messages).count("step")
        self.assertLess(printed, 20)
        time.sleep(1.0)  # the loop would have printed ~6 more steps by now
        reply, messages = self.outputs("[kept, steps]")
        self.assertEqual(reply["status"], "ok")
        kept, steps = messages[-1]["content"]["data"]["text/plain"].strip("[] ").split(", ")
        self.assertEqual(kept, "'before'")
        self.assertEqual(int(steps), printed, "the loop went on after the interrupt")

    def test_alignmix_interrupt_sync_loop(self):
        self.flush()
        msg_id = self.kc.execute("let spins = 0; while (true) { spins++; }")
        time.sleep(1.5)
        self.km.interrupt_kernel()
        reply, _ = self.collect(msg_id)
        self.assertEqual((reply["status"], reply["ename"]), ("error", "KeyboardInterrupt"))
        reply, messages = self.outputs("spins > 0")
        self.assertEqual(messages[-1]["content"]["data"]["text/plain"], "true")

    def test_alignmix_interrupt_listener(self):
        # With an onInterrupt listener (how interruptSignal() stops training between batches),
        # the first interrupt only tells the listener; the cell winds down by itself and succeeds.
        self.flush()
        code = (
            f"let stopping = false; let rounds = 0; const stop = {API}.onInterrupt(() => {{ stopping = true; }});\n"
            "while (!stopping && rounds < 100) { rounds++; await new Promise((r) => setTimeout(r, 100)); }\n"
            "stop(); `stopped after ${rounds < 100 ? 'interrupt' : 'all rounds'}`"
        )
        msg_id = self.kc.execute(code)
        time.sleep(1.5)
        self.km.interrupt_kernel()
        reply, messages = self.collect(msg_id)
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(messages[-1]["content"]["data"]["text/plain"], "'stopped after interrupt'")

    def test_alignmix_async_error_while_running(self):
        reply, messages = self.outputs("setTimeout(() => { throw new SyntaxError('in a timer'); }, 50); await new Promise((r) => setTimeout(r, 500));")
        self.assertEqual((reply["status"], reply["ename"], reply["evalue"]), ("error", "SyntaxError", "in a timer"))

    def test_alignmix_late_async_error(self):
        self.flush()
        first = self.kc.execute("setTimeout(() => { throw new EvalError('late'); }, 300); 'started'")
        reply, _ = self.collect(first)
        self.assertEqual(reply["status"], "ok")
        deadline = time.time() + 10
        late = None
        while time.time() < deadline and late is None:
            msg = self.kc.get_iopub_msg(timeout=10)
            if msg["msg_type"] == "error":
                late = msg
        self.assertIsNotNone(late)
        self.assertEqual(late["parent_header"]["msg_id"], first, "the late error is not on the cell that started it")
        self.assertEqual(late["content"]["ename"], "EvalError")
        self.assertIn("after that cell finished", late["content"]["evalue"])
        reply, _ = self.outputs("1")
        self.assertEqual(reply["status"], "ok", "a late error must not fail the next cell")

    def test_alignmix_comm_round_trip(self):
        reply, _ = self.outputs(
            f"{API}.registerCommTarget('echo', (comm: any, data: any) => {{ comm.send({{ opened: data.hello }}); "
            "comm.onMessage((d: any) => comm.send({ echo: d.value * 2 })); });"
        )
        self.assertEqual(reply["status"], "ok")
        self.flush()
        comm_id = "c0ffee"
        msg = self.kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {"hello": "hi"}})
        self.kc.shell_channel.send(msg)
        msg2 = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"value": 21}})
        self.kc.shell_channel.send(msg2)
        got = []
        deadline = time.time() + 20
        while len(got) < 2 and time.time() < deadline:
            m = self.kc.get_iopub_msg(timeout=10)
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id:
                got.append((m["parent_header"]["msg_id"], m["content"]["data"]))
        self.assertEqual(got, [(msg["header"]["msg_id"], {"opened": "hi"}), (msg2["header"]["msg_id"], {"echo": 42})])
        self.kc.comm_info(target_name="echo")
        reply = self.kc.get_shell_msg(timeout=10)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"]["comms"], {comm_id: {"target_name": "echo"}})
        # Unknown targets are closed again.
        self.kc.shell_channel.send(self.kc.session.msg("comm_open", {"comm_id": "nobody", "target_name": "missing", "data": {}}))
        deadline = time.time() + 10
        closed = False
        while not closed and time.time() < deadline:
            m = self.kc.get_iopub_msg(timeout=10)
            closed = m["msg_type"] == "comm_close" and m["content"]["comm_id"] == "nobody"
        self.assertTrue(closed)

    def test_alignmix_kernel_comm_open(self):
        reply, messages = self.outputs(f"const c = {API}.openComm('jupyter.widget', {{ state: 1 }}); c.send({{ x: 2 }}); c.close();")
        self.assertEqual(reply["status"], "ok")
        kinds = [m["msg_type"] for m in messages]
        self.assertEqual(kinds, ["comm_open", "comm_msg", "comm_close"])
        self.assertEqual(messages[0]["content"]["target_name"], "jupyter.widget")
        self.assertEqual(len({m["content"]["comm_id"] for m in messages}), 1)

    def test_alignmix_tensor_execute_result(self):
        reply, messages = self.outputs("import * as tf from '@tensorflow/tfjs'; tf.tensor2d([[1, 2], [3, 4]]).reshape([4])", timeout=SLOW)
        self.assertEqual(reply["status"], "ok", reply)
        result = [m for m in messages if m["msg_type"] == "execute_result"]
        self.assertEqual(len(result), 1)
        data = result[0]["content"]["data"]
        self.assertIn("shape=[4] dtype=float32", data["text/plain"])
        self.assertIn("<td>4</td>", data["text/html"])

    def test_alignmix_rich_results(self):
        # An image batch renders as one PNG per image; a 2-D tensor as a table beside a heatmap.
        reply, messages = self.outputs("import * as tf from '@tensorflow/tfjs-core'; tf.zeros([3, 8, 8, 1])", timeout=SLOW)
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(messages[-1]["content"]["data"]["text/html"].count("<img src=\"data:image/png;base64,"), 3)
        reply, messages = self.outputs("tf.tensor2d([[0.5, 0.25], [0.125, 0.125]])")
        html = messages[-1]["content"]["data"]["text/html"]
        self.assertIn("<td>0.1250</td>", html)
        self.assertIn("<svg", html)
        # The display protocol: a value's own [Symbol.for('alignmix.mimeBundle')] method.
        reply, messages = self.outputs("({ [Symbol.for('alignmix.mimeBundle')]: () => ({ 'text/markdown': '**mine**' }) })")
        data = messages[-1]["content"]["data"]
        self.assertEqual(data["text/markdown"], "**mine**")
        self.assertIn("text/plain", data)
        # Library values, through the renderer lib/display registers on import.
        reply, messages = self.outputs("import { resolveConfig } from './lib/train/config'; import './lib/display/index'; resolveConfig('synthetic', { method: 'alignmix' })", timeout=SLOW)
        self.assertEqual(reply["status"], "ok", reply)
        self.assertIn("training config: alignmix on synthetic", messages[-1]["content"]["data"]["text/html"])

    def test_alignmix_stdin_input(self):
        self.flush()
        msg_id = self.kc.execute(f"const answer: string = await {API}.input('name? '); answer.toUpperCase()", allow_stdin=True)
        request = self.kc.get_stdin_msg(timeout=jupyter_kernel_test.TIMEOUT)
        self.assertEqual((request["msg_type"], request["content"]["prompt"]), ("input_request", "name? "))
        self.kc.input("ada")
        reply, messages = self.collect(msg_id)
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(messages[-1]["content"]["data"]["text/plain"], "'ADA'")


def main() -> int:
    result = unittest.main(exit=False, verbosity=2).result
    if result.skipped:
        print(f"{len(result.skipped)} check(s) skipped; every check must run", file=sys.stderr)
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
