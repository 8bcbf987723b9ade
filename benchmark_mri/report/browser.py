"""Open a dashboard in headless Chromium, offline, and report what it shows.

Used by the tests, the load-time benchmark and the README screenshot. Chromium
is driven through the DevTools protocol over a pipe (--remote-debugging-pipe:
JSON messages ending in NUL on file descriptors 3 and 4), so no port is
opened and no extra package is needed. Networking is off: every host resolves
to nothing and a proxy to a closed local port catches the rest; any request
that is not file:// / data: is recorded in `PageCheck.network_requests`.
"""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--no-first-run", "--no-default-browser-check", "--mute-audio",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
_LOCAL = ("file:", "data:", "about:", "blob:", "chrome:", "devtools:")

# Evaluated in the page once it is ready: what each figure and image holds.
_INSPECT = """(() => {
  const figures = Array.from(document.querySelectorAll(".figure")).map(gd => {
    const traces = (gd.calcdata || []);
    const points = traces.reduce((n, t) => n + t.filter(
        p => Number.isFinite(p.x) && Number.isFinite(p.y)).length, 0);
    return {id: gd.id, traces: (gd.data || []).length, points: points};
  });
  const images = Array.from(document.querySelectorAll("img")).map(img => ({
    alt: img.alt, loaded: img.complete && img.naturalWidth > 0,
    width: img.naturalWidth}));
  const problems = Array.from(document.querySelectorAll("#problems li"))
    .map(li => li.textContent);
  const tables = Array.from(document.querySelectorAll("table")).map(t => ({
    classes: t.className, right: t.getBoundingClientRect().right,
    shown: t.offsetParent !== null && !t.closest("details:not([open])")}));
  return JSON.stringify({figures, images, problems, tables,
    pageWidth: document.documentElement.scrollWidth,
    status: window.reportStatus || null, readyMs: window.reportReadyMs || null});
})()"""


def find_chromium() -> str | None:
    """Path of a Chromium / Chrome binary ($CHROMIUM first), or None."""
    candidates = [os.environ.get("CHROMIUM")] + [shutil.which(b) for b in BROWSERS]
    return next((c for c in candidates if c and Path(c).exists()), None)


@dataclass
class PageCheck:
    """What a dashboard showed in the browser."""

    console_errors: list = field(default_factory=list)
    network_requests: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    images: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    tables: list = field(default_factory=list)  # class, right edge (px), shown
    page_width: float = float("nan")  # the document's scroll width (px)
    status: dict | None = None
    load_s: float = float("nan")  # navigation start -> first screen drawn
    all_drawn_s: float = float("nan")  # navigation start -> every figure drawn
    screenshot: Path | None = None


class _Pipe:
    """DevTools protocol over Chromium's --remote-debugging-pipe."""

    def __init__(self, binary: str, profile: str, width: int, height: int):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():  # in the child: fds 3 and 4 are the debugging pipe
            # (moved out of the way first: os.pipe may have returned 3 or 4,
            # and dup2 onto the same number would keep its close-on-exec flag)
            read, write = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
                           for fd in (to_chrome_r, from_chrome_w))
            os.dup2(read, 3)
            os.dup2(write, 4)

        args = [binary, *OFFLINE_FLAGS, "--remote-debugging-pipe",
                f"--user-data-dir={profile}", f"--window-size={width},{height}",
                "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=wire, close_fds=False,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time.")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the debugging pipe.")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, timeout: float = 60,
             **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def check_page(page: Path, screenshot: Path | None = None, binary: str | None = None,
               width: int = 1400, height: int = 1000, timeout: float = 60,
               full_page: bool = False) -> PageCheck:
    """Load `page` from file:// offline, wait for its figures, inspect it.

    screenshot: where to write a PNG of the viewport (of the whole page with
    full_page=True), or None.
    """
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("No Chromium binary found (set $CHROMIUM).")
    check = PageCheck()
    with tempfile.TemporaryDirectory() as profile:
        pipe = _Pipe(binary, profile, width, height)
        try:
            target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.call("Target.attachToTarget", targetId=target,
                                flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Page", "Network"):
                pipe.call(f"{domain}.enable", session)
            pipe.call("Emulation.setDeviceMetricsOverride", session, width=width,
                      height=height, deviceScaleFactor=1, mobile=False)
            pipe.call("Page.navigate", session, url=Path(page).resolve().as_uri())
            deadline = time.monotonic() + timeout
            while True:
                ready = pipe.call("Runtime.evaluate", session, expression=(
                    "document.body && document.body.dataset.ready === '1' "
                    "? performance.now() : null"), returnByValue=True)
                value = ready.get("result", {}).get("value")
                if value is not None:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{page} did not finish drawing in {timeout} s.")
                time.sleep(0.05)
            # performance.now() is measured from the navigation start; polling
            # adds at most 50 ms: the page's own mark is used when present.
            check.load_s = value / 1000
            # Figures and images further down are drawn / decoded lazily:
            # draw and decode them all before looking at them.
            drawn = pipe.call("Runtime.evaluate", session, awaitPromise=True,
                              expression="window.reportDrawAll().then(() => "
                                         "performance.now())", returnByValue=True)
            check.all_drawn_s = drawn["result"]["value"] / 1000
            pipe.call("Runtime.evaluate", session, awaitPromise=True, expression=(
                "Promise.allSettled(Array.from(document.images).map(img => "
                "{ img.loading = 'eager'; return img.decode(); }))"))
            found = pipe.call("Runtime.evaluate", session, expression=_INSPECT,
                              returnByValue=True)["result"]["value"]
            found = json.loads(found)
            check.figures, check.images = found["figures"], found["images"]
            check.problems, check.status = found["problems"], found["status"]
            check.tables, check.page_width = found["tables"], found["pageWidth"]
            if found.get("readyMs"):
                check.load_s = found["readyMs"] / 1000
            if screenshot is not None:
                params = dict(format="png", captureBeyondViewport=full_page)
                if full_page:
                    size = pipe.call("Page.getLayoutMetrics", session)["cssContentSize"]
                    params["clip"] = dict(x=0, y=0, width=size["width"],
                                          height=size["height"], scale=1)
                data = pipe.call("Page.captureScreenshot", session, **params)["data"]
                Path(screenshot).write_bytes(base64.b64decode(data))
                check.screenshot = Path(screenshot)
        finally:
            pipe.close()
    _collect_events(pipe.events, check)
    return check


def _collect_events(events, check: PageCheck):
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in params.get("args", []))
            check.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = (details.get("exception", {}).get("description")
                    or details.get("text"))
            check.console_errors.append(f"uncaught exception: {text}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            check.console_errors.append(f"{entry.get('source')}: {entry.get('text')} "
                                        f"({entry.get('url', '')})")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(_LOCAL):
                check.network_requests.append(url)
