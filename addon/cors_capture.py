"""How the addon lives with mitmproxy's capture files: reading ahead in the file being
replayed (``-r``), and holding back ``-w`` writes of flows whose verdict is still open."""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator

from mitmproxy import ctx, exceptions, http
from mitmproxy import flow as mflow
from mitmproxy import io as mio
from mitmproxy.io import compat, tnetstring

from corscore import Exchange, make_headers


def exchange_of(flow: http.HTTPFlow) -> Exchange:
    """The facts of a mitmproxy flow, as the core wants them."""
    req = flow.request
    resp = flow.response
    return Exchange(
        key=flow.id,
        method=req.method,
        url=req.url,
        request_headers=make_headers(req.headers.fields),
        status=resp.status_code if resp is not None else None,
        response_headers=make_headers(resp.headers.fields) if resp is not None else None,
        timestamp=req.timestamp_start or 0.0,
        websocket=flow.websocket is not None,
    )


_READ_ERRORS = (EOFError, ValueError, TypeError, IndexError, KeyError, OSError,
                exceptions.FlowReadException)


class Lookahead:
    """Reads ahead in the capture mitmproxy is replaying (``-r``), so that a preflight
    whose verdict hangs on the flows after it is settled in its own ``response`` hook,
    before ``-w`` writes it.

    In a .mitm file the records before the one wanted are skipped by their length
    prefix, without being parsed, so reading ahead costs a few parsed flows per open
    preflight rather than a second read of the capture. The record is checked against
    the flow by (method, URL, start time); when that fails (records that are not HTTP
    flows, a HAR file) the slower sequential scan is used."""

    def __init__(self, path: str, max_window: int = 1000) -> None:
        self._fh = open(path, "rb")
        head = self._fh.peek(4)[:4]
        self._indexed = not (head.startswith(b"{") or head.startswith(b"\xef\xbb\xbf{"))
        self._pos = 0  # index of the record at the file offset (indexed mode)
        self._parsed: OrderedDict[int, Exchange | None] = OrderedDict()
        self._stream: Iterator | None = None
        self._buffer: deque[tuple[tuple, Exchange]] = deque()
        self.max_window = max_window
        self.broken = False

    @staticmethod
    def fingerprint(ex: Exchange) -> tuple:
        return (ex.method, ex.url, round(ex.timestamp, 3))

    def after(self, ex: Exchange, index: int) -> Iterator[Exchange]:
        """The exchanges after ``ex`` (record ``index`` of the file), lazily, at most
        max_window of them."""
        if self._indexed:
            try:
                here = self._record(index)
            except _READ_ERRORS:
                here = None
            if here is not None and self.fingerprint(here) == self.fingerprint(ex):
                return self._window(index)
            self._indexed = False  # records and flows do not line up: scan instead
        return self._scan_after(ex)

    # -- indexed mode (.mitm)
    def _window(self, index: int) -> Iterator[Exchange]:
        for i in range(index + 1, index + 1 + self.max_window):
            try:
                ex = self._record(i)
            except _READ_ERRORS:
                return
            if ex is not None:
                yield ex

    def _record(self, i: int) -> Exchange | None:
        """Record ``i`` as an Exchange (None for a non-HTTP flow); EOFError past the end."""
        if i in self._parsed:
            return self._parsed[i]
        if i < self._pos:  # behind us and forgotten: start over
            self._fh.seek(0)
            self._pos = 0
        while self._pos < i:
            self._skip()
        loaded = tnetstring.load(self._fh)
        f = mflow.Flow.from_state(compat.migrate_flow(loaded))
        self._pos = i + 1
        ex = exchange_of(f) if isinstance(f, http.HTTPFlow) else None
        self._parsed[i] = ex
        while len(self._parsed) > 2 * self.max_window:
            self._parsed.popitem(last=False)
        return ex

    def _skip(self) -> None:
        n = 0
        while True:
            c = self._fh.read(1)
            if not c:
                raise EOFError
            if c == b":":
                break
            if not c.isdigit():
                raise ValueError("not a tnetstring")
            n = n * 10 + (c[0] - 48)
        self._fh.seek(n + 1, 1)
        self._pos += 1

    # -- sequential mode (HAR, or records that are not all HTTP flows)
    def _next(self) -> tuple[tuple, Exchange] | None:
        if self._stream is None:
            self._fh.seek(0)
            self._stream = iter(mio.FlowReader(self._fh).stream())
        try:
            for f in self._stream:
                if isinstance(f, http.HTTPFlow):
                    ex = exchange_of(f)
                    return self.fingerprint(ex), ex
        except _READ_ERRORS:
            pass
        return None

    def _scan_after(self, ex: Exchange) -> Iterator[Exchange]:
        want = self.fingerprint(ex)
        while True:
            item = self._buffer.popleft() if self._buffer else self._next()
            if item is None:
                self.broken = True  # not in the file: this flow came from elsewhere
                return
            if item[0] == want:
                break
        for i in range(self.max_window):
            if i < len(self._buffer):
                yield self._buffer[i][1]
                continue
            item = self._next()
            if item is None:
                return
            self._buffer.append(item)
            yield item[1]

    def close(self) -> None:
        self._fh.close()


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


