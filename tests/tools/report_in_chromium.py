#!/usr/bin/env python3
"""Opens an hl-highlights report.html in headless Chromium and checks what a person sees.

    report_in_chromium.py REPORT_HTML HIGHLIGHTS_JSON SCREENSHOT_PNG

Chromium is driven over the DevTools protocol through a pipe (--remote-debugging-pipe:
NUL-separated JSON on file descriptors 3 and 4, so no websocket module is needed), with
every host name resolving nowhere and a proxy that does not exist, so a page that needed
the network would show it. Checks:
  - no console message of level error or warning, no uncaught exception, no log error;
  - no request other than the report file itself and its inline data: URIs;
  - every thumbnail <img class="thumb"> has decoded (naturalWidth > 0), one per entry of
    the JSON's "top", each card and each <rect class="chosen"> of the timeline naming the
    chosen segments of the JSON, in time order;
  - the timeline SVG has been laid out (a non-zero box);
and writes a full-page screenshot to SCREENSHOT_PNG for people to look at.
Exit 0 on success, 1 with the reasons on failure, 77 (ctest's skip) when no chromium is
installed.
"""
import base64
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 60


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, chromium, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire_fds():  # the browser reads commands on fd 3 and writes replies on fd 4
            # Moved above 10 first: either pipe end may itself be fd 3 or 4.
            r, w = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--mute-audio",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=wire_fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.wait_for(lambda m, i=self.next_id: m.get("id") == i)

    def wait_for(self, predicate):
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            for i, m in enumerate(self.events):
                if predicate(m):
                    del self.events[i]
                    if "error" in m:
                        raise RuntimeError("DevTools error: %s" % m["error"])
                    return m
            if time.monotonic() > deadline:
                raise RuntimeError("no answer from chromium in %d s" % TIMEOUT_S)
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe: %s" % self.proc.stderr.read().decode()[-2000:])
            self.buffer += chunk
            *messages, self.buffer = self.buffer.split(b"\0")
            self.events += [json.loads(m) for m in messages if m]

    def close(self):
        try:
            os.write(self.to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def check(report, highlights, screenshot):
    problems = []
    expected = json.loads(pathlib.Path(highlights).read_text())["top"]
    report_url = pathlib.Path(report).resolve().as_uri()
    chromium = find_chromium()
    if not chromium:
        print("SKIP: chromium is not installed (Debian package chromium; tools/setup.sh installs it)")
        return 77
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(chromium, profile)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                browser.send(domain + ".enable", session=session)
            browser.events.clear()  # about:blank's own events
            browser.send("Page.navigate", {"url": report_url}, session=session)
            browser.wait_for(lambda m: m.get("method") == "Page.loadEventFired")
            state = browser.send("Runtime.evaluate", {"returnByValue": True, "expression": """(() => {
                const seg = e => Number(e.dataset.segment);
                const box = document.querySelector('svg.timeline')?.getBoundingClientRect();
                return {
                  thumbs: [...document.querySelectorAll('img.thumb')].map(
                      i => ({loaded: i.complete && i.naturalWidth > 0, data: i.src.startsWith('data:image/')})),
                  cards: [...document.querySelectorAll('figure.highlight')].map(seg),
                  marked: [...document.querySelectorAll('svg.timeline rect.chosen')].map(seg),
                  timeline: box ? [box.width, box.height] : null,
                };})()"""}, session=session)["result"]["result"]["value"]
            shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                session=session)["result"]["data"]
            pathlib.Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(screenshot).write_bytes(base64.b64decode(shot))
            time.sleep(0.2)  # late log messages
            os.set_blocking(browser.from_browser, False)
            try:
                browser.wait_for(lambda m: False)
            except (BlockingIOError, RuntimeError):
                pass
        finally:
            browser.close()

    for m in browser.events:
        method, params = m.get("method", ""), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            problems.append("console %s: %s" % (params["type"], params.get("args")))
        elif method == "Runtime.exceptionThrown":
            problems.append("uncaught exception: %s" % params.get("exceptionDetails", {}).get("text"))
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            problems.append("log %s: %s" % (params["entry"]["level"], params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url != report_url and not url.startswith("data:"):
                problems.append("a request left the file: %s" % url)
        elif method == "Network.loadingFailed":
            problems.append("a load failed: %s" % params.get("errorText"))
    thumbs = state["thumbs"]
    print("report %s: %d thumbnails (%d decoded), cards %s, marked segments %s, JSON top %s, timeline %s"
          % (report, len(thumbs), sum(t["loaded"] for t in thumbs), state["cards"], state["marked"], expected,
             state["timeline"]))
    if len(thumbs) != len(expected) or not all(t["loaded"] and t["data"] for t in thumbs):
        problems.append("%d decoded data-URI thumbnails of %d, want one per chosen segment (%d)"
                        % (sum(t["loaded"] for t in thumbs), len(thumbs), len(expected)))
    if state["cards"] != expected:
        problems.append("cards %s, the JSON's top is %s" % (state["cards"], expected))
    if state["marked"] != expected:
        problems.append("timeline marks %s, the JSON's top is %s" % (state["marked"], expected))
    if not state["timeline"] or min(state["timeline"]) <= 0:
        problems.append("the timeline SVG was not laid out: %s" % state["timeline"])
    for p in problems:
        print("FAIL: " + p)
    print("screenshot: " + str(screenshot))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(check(*sys.argv[1:]))
