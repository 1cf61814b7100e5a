"""Jupyter protocol conformance of the alignmix kernel (kernel/kernels/alignmix), with jupyter_kernel_test.

Runs on the system Python that has Debian's python3-jupyter-kernel-test (it is not on the pip
mirror); `nbtools.py conformance` starts it with JUPYTER_PATH pointing at kernel/.

jupyter_kernel_test's checks that tslab passes are configured below: stdout, stderr, display_data,
completion, inspect, is_complete. The ones tslab does not support stay unconfigured, which the
library reports as skipped: execute_result (tslab prints values on stdout), error (tslab sends no
`error` message, only stderr text), history (requests time out), pager, clear_output; kernel_info
is skipped explicitly because tslab's reply lacks the `status` field the schema requires.

The alignmix-specific checks are what the lab relies on: the kernel works at the repository root,
so `./lib/...` imports resolve; display ids update in place (live training curves); an error sets
status 'error' and leaves its text on stderr (how nbtools.py detects failures).
"""
import os
import shutil
import time
import unittest
from pathlib import Path
from queue import Empty

import jupyter_kernel_test


class AlignmixKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "alignmix"
    language_name = "typescript"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'
    code_display_data = [
        {"code": 'import * as tslab from "tslab"; tslab.display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'import * as tslab from "tslab"; tslab.display.text("plain")', "mime": "text/plain"},
    ]
    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]
    code_inspect_sample = "Math.max"
    complete_code_samples = ["const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const a = ["]

    def test_kernel_info(self):
        raise unittest.SkipTest("tslab's kernel_info_reply has no 'status' field (schema check would fail)")

    def outputs(self, code):
        """Execute `code`; (reply content, iopub messages of that request). No schema checks here:
        tslab's error reply lacks ename/evalue/traceback, which the alignmix checks must see."""
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.1)
                except Empty:
                    break
        msg_id = self.kc.execute(code)
        while True:
            reply = self.kc.get_shell_msg(timeout=jupyter_kernel_test.TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        messages = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=jupyter_kernel_test.TIMEOUT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            messages.append(msg)
        return reply["content"], messages

    def test_alignmix_repo_root_imports(self):
        reply, messages = self.outputs("import { quickMode } from './lib/display/kernel'; console.log(process.cwd(), typeof quickMode)")
        self.assertEqual(reply["status"], "ok")
        text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
        cwd, kind = text.split()
        self.assertTrue((Path(cwd) / "kernel" / "launch.js").is_file(), f"kernel cwd {cwd} is not the repository root")
        self.assertEqual(kind, "function")

    def test_alignmix_survives_new_folder(self):
        # tslab's single-slot rebuild timer breaks the kernel for good when a folder appears under a
        # watched one (kernel/launch.js turns directory watchers off); lib/ is watched once a cell
        # imports from it.
        reply, _ = self.outputs("import { inKernel } from './lib/display/kernel'; inKernel()")
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
        stderr = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        self.assertEqual((reply["status"], stderr), ("ok", ""))

    def test_alignmix_display_update(self):
        reply, messages = self.outputs('import * as tslab from "tslab"; const d = tslab.newDisplay(); d.html("<i>first</i>"); d.html("<i>second</i>")')
        self.assertEqual(reply["status"], "ok")
        kinds = [(m["msg_type"], m["content"].get("transient", {}).get("display_id"), m["content"].get("data", {}).get("text/html")) for m in messages]
        displays = [k for k in kinds if k[0] in ("display_data", "update_display_data")]
        self.assertEqual([k[0] for k in displays], ["display_data", "update_display_data"])
        self.assertEqual(displays[0][1], displays[1][1])
        self.assertTrue(displays[0][1])
        self.assertEqual([k[2] for k in displays], ["<i>first</i>", "<i>second</i>"])

    def test_alignmix_error_on_stderr(self):
        reply, messages = self.outputs('throw new RangeError("broken on purpose")')
        self.assertEqual(reply["status"], "error")
        stderr = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        self.assertIn("RangeError: broken on purpose", stderr)
        # tslab drops requests for ~200 ms after an error; the next check must still work.
        time.sleep(0.5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
