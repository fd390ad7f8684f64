"""How the addon lives with capture files: holding back ``-w`` writes of flows whose
verdict is still open, and a clear message for a capture mitmproxy cannot read."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable

from mitmproxy import ctx, http


_HAR_FIELDS = (
    ("startedDateTime",), ("time",), ("request", "method"), ("request", "url"),
    ("request", "headers"), ("request", "httpVersion"), ("response", "status"),
    ("response", "headers"), ("response", "httpVersion"), ("response", "content"),
)


def diagnose_capture(path: str) -> str:
    """Why mitmproxy could not read a capture, in a sentence a person can act on."""
    try:
        with open(path, "rb") as fh:
            head = fh.peek(4)[:4]
            if head.startswith(b"{") or head.startswith(b"\xef\xbb\xbf{"):
                return _diagnose_har(fh.read().decode("utf-8-sig", "replace"))
            return _diagnose_mitm(fh, os.path.getsize(path))
    except OSError as e:
        return f"cannot open it: {e.strerror}"


def _diagnose_har(text: str) -> str:
    try:
        har = json.loads(text)
    except ValueError as e:
        return f"not valid JSON ({e}); a HAR file is JSON with log.entries"
    entries = har.get("log", {}).get("entries") if isinstance(har, dict) else None
    if not isinstance(entries, list):
        return "a HAR file needs log.entries (a list); this JSON has none"
    problems = []
    for i, entry in enumerate(entries):
        for path in _HAR_FIELDS:
            node = entry
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                problems.append(f"entry {i} has no {'.'.join(path)}")
                break
        if len(problems) >= 3:
            break
    if problems:
        return ("HAR entries lack fields mitmproxy needs: " + "; ".join(problems)
                + " (export the HAR again from the browser's DevTools, with content)")
    return "the HAR file could not be converted (unusual values in an entry)"


def _diagnose_mitm(fh, size: int) -> str:
    count = 0
    while True:
        start = fh.tell()
        if start == size:
            return f"{count} complete flows, then unreadable data"
        digits = fh.read(10).split(b":", 1)[0]
        if not digits.isdigit():
            return (f"not a mitmproxy capture at byte {start} (after {count} flows): "
                    "expected a flow record")
        end = start + len(digits) + 1 + int(digits) + 1
        if end > size:
            return (f"the file is truncated: {count} complete flows, then a flow record cut "
                    f"short ({end - size} bytes missing); the capture was probably still being "
                    "written or copied")
        fh.seek(end)
        count += 1


class ReadErrorExplainer(logging.Filter):
    """Turns mitmproxy's traceback for an unreadable ``-r`` file into one clear line
    (mitmproxy still exits 1, as it should)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if msg.startswith("Failed to read ") and ctx.options.rfile:
            record.msg = (f"Failed to read {ctx.options.rfile}: "
                          f"{diagnose_capture(ctx.options.rfile)}")
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True

    LOGGER = "mitmproxy.addons.readfile"

    def install(self) -> None:
        logging.getLogger(self.LOGGER).addFilter(self)

    def uninstall(self) -> None:
        logging.getLogger(self.LOGGER).removeFilter(self)


class SaveDeferral:
    """Holds back ``-w`` writes of flows whose verdict is still open (a preflight
    waiting for its actual request), then writes them once settled. It rides on the
    Save addon's own mechanism: a flow Save has not written stays in its
    ``active_flows`` and is written at shutdown anyway, so nothing is ever lost."""

    def __init__(self, save, is_open) -> None:
        self.save = save
        self.is_open = is_open
        self.held: set[str] = set()
        self._orig = save.response
        save.response = self._response

    @classmethod
    def install(cls, is_open: Callable[[http.HTTPFlow], bool]) -> "SaveDeferral | None":
        save = ctx.master.addons.get("save")
        if save is None or not callable(getattr(save, "save_flow", None)):
            return None
        return cls(save, is_open)

    def _response(self, flow: http.HTTPFlow) -> None:
        if self.is_open(flow):
            self.held.add(flow.id)
            return
        self._orig(flow)

    def release(self, flow: http.HTTPFlow) -> None:
        if flow.id in self.held:
            self.held.discard(flow.id)
            if getattr(self.save, "stream", None):
                self.save.save_flow(flow)

    def uninstall(self) -> None:
        if self.save.__dict__.get("response") == self._response:
            del self.save.response


