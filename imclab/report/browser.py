"""Open report pages in headless Chromium and record what a reader would meet.

Speaks the Chrome DevTools protocol over ``--remote-debugging-pipe`` (no network port, no
extra package): console errors, uncaught exceptions, requests that leave the machine, images
that fail to load, the KPI tiles as displayed, a PDF print, and full-page screenshots.
``python -m imclab.report.browser reports/spring_launch`` checks a built report.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imclab.errors import ImclabError

CHROMIUM_NAMES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome")
"""Executables tried, in order, when ``IMCLAB_CHROMIUM`` is not set."""

INSTALL_HINT = (
    "install Debian's chromium with `sudo apt-get update && sudo apt-get install -y chromium` "
    "(`make test` does this when run as root), or set IMCLAB_CHROMIUM to a Chromium executable"
)

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--font-render-hinting=none",
)
"""Headless, offline-friendly flags (a fresh ``--user-data-dir`` is added per browser)."""

LAPTOP_VIEWPORT: tuple[int, int] = (1366, 768)
"""Width and height of the window pages are rendered in (a common laptop screen)."""

MAX_SCREENSHOT_HEIGHT = 12_000
"""Screenshots stop at this many CSS pixels (very long notebook pages are cut)."""

LOCAL_SCHEMES: tuple[str, ...] = ("file:", "data:", "about:", "blob:")

_COLLECT = """(() => {
  const images = Array.from(document.images).map((img) => ({
    src: (img.getAttribute('src') || '').slice(0, 60),
    alt: img.alt || '',
    complete: img.complete,
    width: img.naturalWidth,
    height: img.naturalHeight,
  }));
  const headlines = {};
  for (const el of document.querySelectorAll('[data-headline]')) {
    const value = el.querySelector('.value');
    headlines[el.dataset.headline] = {
      text: (value ? value.textContent : el.textContent).trim(),
      value: el.hasAttribute('data-value') ? el.dataset.value : null,
      note: ((el.querySelector('.note') || {}).textContent || '').trim(),
    };
  }
  const h1 = document.querySelector('h1');
  return {
    title: document.title,
    h1: h1 ? h1.textContent : null,
    text: document.body ? document.body.innerText : '',
    images,
    headlines,
    links: Array.from(document.querySelectorAll('a[href]')).map((a) => a.getAttribute('href')),
    scripts: document.scripts.length,
  };
})()"""


class BrowserError(ImclabError):
    """Chromium is missing, did not start, or did not answer in time."""


@dataclass
class PageReport:
    """What opening one page in Chromium showed.

    Attributes
    ----------
    path
        The HTML file opened.
    title, h1
        ``document.title`` and the text of the first ``<h1>`` (None without one).
    text
        The page's visible text (``document.body.innerText``).
    console_errors
        Console ``error``/``assert`` messages, uncaught exceptions and browser log errors.
    external_requests
        Requests to anything but ``file:``, ``data:``, ``about:`` or ``blob:`` URLs.
    failed_requests
        Requests that failed (missing file, blocked), with the browser's reason.
    dialogs
        Messages of JavaScript dialogs (``alert``) the page opened; each was dismissed.
    images
        One dict per ``<img>``: ``src`` (first 60 characters), ``alt``, ``complete``,
        ``width``/``height`` (natural size; 0 when the image did not load).
    headlines
        ``data-headline`` key to ``{"text", "value", "note"}`` of each KPI tile: the text
        shown, the recorded value as JSON text (None when the tile shows no number).
    links
        ``href`` of every link.
    scripts
        Number of ``<script>`` elements.
    screenshot
        The full-page PNG written, if any.
    """

    path: Path
    title: str = ""
    h1: str | None = None
    text: str = ""
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    headlines: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    scripts: int = 0
    screenshot: Path | None = None

    @property
    def broken_images(self) -> list[dict[str, Any]]:
        """Images that did not load (``naturalWidth`` is 0)."""
        return [img for img in self.images if not (img["complete"] and img["width"] > 0)]

    def problems(self) -> list[str]:
        """Everything a reader would notice as broken, one line each (empty when fine)."""
        out = [f"console error: {m}" for m in self.console_errors]
        out += [f"request leaves the machine: {u}" for u in self.external_requests]
        out += [f"request failed: {u}" for u in self.failed_requests]
        out += [f"dialog opened: {m}" for m in self.dialogs]
        out += [f"image did not load: {img['src']}" for img in self.broken_images]
        out += self.reader_problems()
        return [f"{self.path.name}: {line}" for line in out]

    def reader_problems(self) -> list[str]:
        """List what reads as unfinished on the page: a raw Python dict, ``NaN``."""
        out = []
        raw = _RAW_DICT.search(self.text)
        if raw:
            out.append(f"shows a raw Python dict: {raw.group(0)[:60]!r}")
        nan = _NAN.search(self.text)
        if nan:
            seen = self.text[max(nan.start() - 30, 0) : nan.end()]
            out.append(f"shows NaN (format missing values as '–'): {seen!r}")
        return out


_RAW_DICT = re.compile(r"\{'[^'\n]{1,40}': ")
_NAN = re.compile(r"(?<![A-Za-z])(?:NaN|nan)(?![A-Za-z])")


def find_chromium() -> Path:
    """Locate the Chromium executable.

    Returns
    -------
    Path
        ``$IMCLAB_CHROMIUM`` when set, else the first of `CHROMIUM_NAMES` on ``PATH``.

    Raises
    ------
    BrowserError
        Nothing found; the message says how to install Chromium.
    """
    configured = os.environ.get("IMCLAB_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if not found:
            raise BrowserError(f"IMCLAB_CHROMIUM={configured!r} is not an executable")
        return Path(found)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise BrowserError(f"no Chromium found (tried {', '.join(CHROMIUM_NAMES)}); {INSTALL_HINT}")


class Chromium:
    """A headless Chromium driven over the DevTools pipe; use as a context manager.

    Parameters
    ----------
    executable
        Chromium binary; default `find_chromium`.
    timeout
        Seconds to wait for any one answer of the browser.
    """

    def __init__(self, executable: str | Path | None = None, timeout: float = 60.0) -> None:
        self.executable = executable
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: str | None = None
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._events: list[dict[str, Any]] = []
        self._next_id = 0
        self._stderr = b""

    # ---- process ---------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        executable = Path(self.executable) if self.executable else find_chromium()
        self._profile = tempfile.mkdtemp(prefix="imclab-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def wire_pipe() -> None:  # in the child: the protocol uses fd 3 (in) and fd 4 (out)
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3, inheritable=True)
            os.dup2(b, 4, inheritable=True)

        args = [
            str(executable),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self._profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        try:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=wire_pipe,  # noqa: PLW1509 - only dup/dup2, no locks taken
                pass_fds=(3, 4),  # kept open: the child's 3 and 4 are set by wire_pipe
            )
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        self._write = os.fdopen(to_browser_w, "wb", buffering=0)
        self._read = os.fdopen(from_browser_r, "rb", buffering=0)
        threading.Thread(target=self._reader, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.send("Target.setDiscoverTargets", {"discover": False})
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is not None:
            try:
                self.send("Browser.close", timeout=10)
            except (BrowserError, OSError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in (getattr(self, "_write", None), getattr(self, "_read", None)):
            if handle is not None:
                try:
                    handle.close()
                except OSError:
                    pass
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _reader(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self._read.read(1 << 16)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                self._messages.put(None)
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self._messages.put(json.loads(raw))

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr = (self._stderr + line)[-4000:]

    # ---- protocol --------------------------------------------------------------------
    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one DevTools command and return its result (events are kept for later).

        Raises
        ------
        BrowserError
            The browser answered with an error, exited, or did not answer in time.
        """
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write.write(json.dumps(message).encode() + b"\0")
        wanted = self._next_id
        while True:
            reply = self._next_message(timeout, f"{method} (no answer)")
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message', reply['error'])}")
                return reply.get("result", {})
            self._event(reply)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the event ``method`` of ``session`` (already received events count)."""
        for event in self._events:
            if event.get("method") == method and event.get("sessionId") == session:
                self._events.remove(event)
                return event
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"timed out waiting for {method}")
            event = self._next_message(left, method)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self._event(event)

    def _next_message(self, timeout: float | None, waiting_for: str) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise BrowserError(f"Chromium did not answer in time: {waiting_for}") from None
        if message is None:
            tail = self._stderr.decode(errors="replace").strip()[-800:]
            raise BrowserError(f"Chromium exited while waiting for {waiting_for}; stderr: {tail}")
        return message

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("method") == "Page.javascriptDialogOpening":  # never block on alert()
            self._write.write(
                json.dumps(
                    {
                        "id": 0,
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": False},
                        "sessionId": event.get("sessionId"),
                    }
                ).encode()
                + b"\0"
            )
        self._events.append(event)

    def events(self, session: str) -> list[dict[str, Any]]:
        """Return (and forget) the events received so far for ``session``."""
        mine = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return mine

    # ---- pages -----------------------------------------------------------------------
    def check_page(
        self,
        path: str | Path,
        screenshot: str | Path | None = None,
        pdf: str | Path | None = None,
        viewport: tuple[int, int] = LAPTOP_VIEWPORT,
    ) -> PageReport:
        """Open an HTML file and report console errors, requests, images and KPI tiles.

        Parameters
        ----------
        path
            The HTML file.
        screenshot
            Where to write a full-page PNG (at most `MAX_SCREENSHOT_HEIGHT` pixels tall).
        pdf
            Where to write the page printed to PDF (A4), checking it is printable.
        viewport
            Window width and height in CSS pixels.

        Returns
        -------
        PageReport
            What the page showed.
        """
        path = Path(path).resolve()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable", session=session)
            width, height = viewport
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
            self.send("Emulation.setDeviceMetricsOverride", metrics, session)
            self.events(session)  # forget about:blank's events
            self.send("Page.navigate", {"url": path.as_uri()}, session)
            self.wait_for("Page.loadEventFired", session)
            self._evaluate(
                "Promise.all(Array.from(document.images).map((i) => i.decode().catch(() => 0)))",
                session,
            )
            data = self._evaluate(_COLLECT, session)
            report = PageReport(
                path=path,
                title=data["title"],
                h1=data["h1"],
                text=data["text"],
                images=data["images"],
                headlines=data["headlines"],
                links=data["links"],
                scripts=data["scripts"],
            )
            if screenshot is not None:
                report.screenshot = self._screenshot(Path(screenshot), session, viewport)
            if pdf is not None:
                printed = self.send(
                    "Page.printToPDF",
                    {"printBackground": True, "paperWidth": 8.27, "paperHeight": 11.69},
                    session,
                )
                Path(pdf).parent.mkdir(parents=True, exist_ok=True)
                Path(pdf).write_bytes(base64.b64decode(printed["data"]))
            self._collect_events(report, session)
            return report
        finally:
            self.send("Target.closeTarget", {"targetId": target})

    def _evaluate(self, expression: str, session: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed in the page: {result['exceptionDetails']}")
        return result["result"].get("value")

    def _screenshot(self, path: Path, session: str, viewport: tuple[int, int]) -> Path:
        size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        height = min(max(int(size["height"]) + 1, viewport[1]), MAX_SCREENSHOT_HEIGHT)
        metrics = {"width": viewport[0], "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics, session)
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def _collect_events(self, report: PageReport, session: str) -> None:
        for event in self.events(session):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = params.get("args", [])
                report.console_errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in args)
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                exception = details.get("exception", {})
                report.console_errors.append(
                    str(exception.get("description") or details.get("text", "exception"))
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                report.console_errors.append(f"{entry.get('text', '')} {entry.get('url', '')}")
            elif method == "Network.requestWillBeSent":
                url = params.get("request", {}).get("url", "")
                if not url.startswith(LOCAL_SCHEMES):
                    report.external_requests.append(url)
            elif method == "Network.loadingFailed":
                report.failed_requests.append(
                    f"{params.get('errorText', 'failed')} ({params.get('type', 'resource')})"
                )
            elif method == "Page.javascriptDialogOpening":
                report.dialogs.append(str(params.get("message", "")))


def report_pages(report_dir: str | Path) -> list[Path]:
    """Return the HTML pages of a report folder: ``index.html`` first, then the rest by name."""
    folder = Path(report_dir)
    pages = sorted(folder.glob("*.html"))
    return sorted(pages, key=lambda p: (p.name != "index.html", p.name))


def check_report(
    report_dir: str | Path,
    screenshots_dir: str | Path | None = None,
    executable: str | Path | None = None,
) -> list[PageReport]:
    """Open every HTML page of a report in one headless Chromium.

    Parameters
    ----------
    report_dir
        A report folder (``reports/<campaign>``).
    screenshots_dir
        Where to save ``<page>.png`` per page and ``index.pdf`` (the printed landing
        page); default ``<report_dir>/screenshots``.
    executable
        Chromium binary; default `find_chromium`.

    Returns
    -------
    list of PageReport
        One per page, ``index.html`` first.

    Raises
    ------
    BrowserError
        Chromium is missing or misbehaves; or the folder holds no HTML page.
    """
    pages = report_pages(report_dir)
    if not pages:
        raise BrowserError(f"{report_dir}: no HTML pages to open (is it a report folder?)")
    shots = Path(screenshots_dir) if screenshots_dir else Path(report_dir) / "screenshots"
    with Chromium(executable) as browser:
        return [
            browser.check_page(
                page,
                screenshot=shots / f"{page.stem}.png",
                pdf=shots / "index.pdf" if page.name == "index.html" else None,
            )
            for page in pages
        ]


def main(argv: Sequence[str] | None = None) -> int:
    """Check a built report in headless Chromium; exit 1 when any page shows a problem."""
    parser = argparse.ArgumentParser(
        prog="python -m imclab.report.browser",
        description="Open every page of a report in headless Chromium: console errors, "
        "images, requests leaving the machine; saves screenshots.",
    )
    parser.add_argument("report", type=Path, help="report folder, e.g. reports/spring_launch")
    args = parser.parse_args(argv)
    try:
        reports = check_report(args.report)
    except ImclabError as exc:
        print(f"imclab: error: {exc}", file=sys.stderr)
        return 2
    problems = [line for page in reports for line in page.problems()]
    for page in reports:
        print(f"{page.path.name}: {len(page.images)} image(s), screenshot {page.screenshot}")
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
