"""One headless Chromium for many pages, driven over the DevTools protocol (CDP).

The slide-fit check, the handout PDFs and their check load dozens of pages; starting Chromium once
per page (as `--dump-dom` does) costs about a second each and gives no way to measure a page or
print it after scripts ran. Here one browser process serves every page: `Browser.page()` opens a
tab, `Page.goto()` loads a URL and waits until an expression in the page is true,
`Page.evaluate()` runs JavaScript (awaiting promises) and returns its JSON value,
`Page.pdf()` prints with Chromium's print-to-PDF (vector output: SVG plots stay vectors).

The websocket client is `websocket-client` (in the project's Jupyter venv: a dependency of
jupyter_server). Flags: see /work/shared/notes/environment-facts.md (headless as root needs
--no-sandbox and a fresh profile).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--font-render-hinting=none",
]


def chromium_binary() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise SystemExit("[nbtools] no Chromium found (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome)")


class BrowserError(RuntimeError):
    pass


class Browser:
    """A headless Chromium process and one CDP websocket to it (use as a context manager)."""

    def __init__(self, start_timeout: float = 60.0) -> None:
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="alignmix-chromium-")
        cmd = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Chromium writes the port it chose and the browser target's path to this file.
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + start_timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited {self.proc.returncode}: {self.proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                self.close()
                raise BrowserError(f"chromium did not open its DevTools port in {start_timeout:.0f} s")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=300, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 300.0) -> dict:
        """Send one command and return its result (events that arrive meanwhile are dropped)."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        self.ws.settimeout(timeout)
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}".strip())
                return reply.get("result", {})

    def page(self, width: int = 1280, height: int = 720) -> "Page":
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        page.viewport(width, height)
        return page

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session

    def call(self, method: str, params: dict | None = None, timeout: float = 300.0) -> dict:
        return self.browser.call(method, params, self.session, timeout)

    def viewport(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression: str, timeout: float = 120.0):
        """Value of a JavaScript expression (promises awaited), as JSON; a thrown error raises BrowserError."""
        r = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError(f"page script failed: {d.get('exception', {}).get('description') or d.get('text')}")
        return r.get("result", {}).get("value")

    def goto(self, url: str, ready: str = "true", timeout: float = 60.0) -> bool:
        """Load `url`, then poll the expression `ready` until it is true; False if it never is."""
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(f"document.readyState === 'complete' && !!({ready})", timeout=30):
                    return True
            except BrowserError:
                pass  # the new document may not exist yet
            time.sleep(0.2)
        return False

    def pdf(self, **options) -> bytes:
        """Chromium's print-to-PDF of the page (CSS @page size and margins apply)."""
        params = {"printBackground": True, "preferCSSPageSize": True, "transferMode": "ReturnAsBase64", **options}
        return base64.b64decode(self.call("Page.printToPDF", params, timeout=300)["data"])

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})

    def screenshot(self, scale: float = 1.0) -> bytes:
        """PNG of the viewport, scaled by `scale` (the README's pictures are taken this way)."""
        width, height = self.evaluate("[innerWidth, innerHeight]")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
        return base64.b64decode(self.call("Page.captureScreenshot", {"format": "png", "clip": clip})["data"])
