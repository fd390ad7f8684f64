"""cors-creds: mark every cross-origin response the browser will hide from JavaScript.

    mitmdump -s addon/cors_creds.py
    mitmweb -s addon/cors_creds.py
    mitmdump -nr capture.har -s addon/cors_creds.py -w annotated.mitm

The CORS logic lives in the sans-IO package ``corscore`` next to this file; this
module only turns mitmproxy flows into ``corscore.Exchange`` facts and findings back
into annotations (marker, comment, ``flow.metadata["cors_creds"]``, a log line). The
traffic itself is never changed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import Optional

from mitmproxy import ctx, exceptions, flowfilter, hooks, http
from mitmproxy import io as mio
from mitmproxy.utils import emoji

from corscore import Analyzer, Exchange, Finding, make_headers, redact_url
from corscore.report import Report

logger = logging.getLogger(__name__)

META_KEY = "cors_creds"
REPORT_FORMATS = {".json": Report.to_json, ".md": Report.to_markdown}
_SEP = " | "


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


def annotate(flow: http.HTTPFlow, finding: Finding, marker: str) -> None:
    """Write a finding onto the flow, replacing our earlier annotation if any and
    keeping whatever the user wrote in the comment."""
    previous = flow.metadata.get(META_KEY)
    comment = flow.comment
    if isinstance(previous, dict):
        old = previous.get("comment") or ""
        if old and comment.endswith(old):
            comment = comment[: -len(old)].removesuffix(_SEP)
        if previous.get("marked") and flow.marked == previous.get("marked"):
            flow.marked = ""
    ours = finding.comment()
    meta = finding.to_metadata()
    meta["comment"] = ours
    meta["marked"] = marker if finding.hidden and marker else ""
    flow.metadata[META_KEY] = meta
    if ours:
        flow.comment = f"{comment}{_SEP}{ours}" if comment else ours
    else:
        flow.comment = comment
    if meta["marked"]:
        flow.marked = marker


class Lookahead:
    """Reads ahead in the capture mitmproxy is replaying (``-r``), so that a preflight
    whose verdict hangs on the flows after it is settled in its own ``response`` hook,
    before ``-w`` writes it. Flows are matched by (method, URL, start time), which
    survive a second read of a .mitm or a HAR file alike."""

    def __init__(self, path: str, max_window: int = 1000) -> None:
        self._fh = open(path, "rb")
        self._stream = mio.FlowReader(self._fh).stream()
        self._buffer: deque[tuple[tuple, Exchange]] = deque()
        self.max_window = max_window
        self.broken = False

    @staticmethod
    def fingerprint(ex: Exchange) -> tuple:
        return (ex.method, ex.url, round(ex.timestamp, 3))

    def _next(self) -> tuple[tuple, Exchange] | None:
        for f in self._stream:
            if isinstance(f, http.HTTPFlow):
                ex = exchange_of(f)
                return self.fingerprint(ex), ex
        return None

    def after(self, ex: Exchange) -> Iterator[Exchange]:
        """The exchanges following ``ex`` in the file, lazily, at most max_window."""
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
    def install(cls, is_open) -> "SaveDeferral | None":
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


class CorsCreds:
    def __init__(self) -> None:
        self.analyzer = Analyzer()
        self.filter: flowfilter.TFilter | None = None
        self.awaiting: dict[str, http.HTTPFlow] = {}  # flows whose verdict may still change
        self.report = Report()
        self.lookahead: Lookahead | None = None
        self.deferral: SaveDeferral | None = None
        self._last_ts = 0.0
        self._last_mono = time.monotonic()
        self._timer: asyncio.Task | None = None

    def load(self, loader) -> None:
        loader.add_option(
            "cors_creds_marker", str, ":no_entry:",
            "Marker for flows whose response the browser hides from JavaScript: an emoji "
            "shortcode (:no_entry: shows as ⛔ in mitmweb), a single letter or digit, or "
            "empty for no marker.",
        )
        loader.add_option(
            "cors_creds_filter", Optional[str], None,
            "Only analyse flows matching this mitmproxy filter expression.",
        )
        loader.add_option(
            "cors_creds_preflight_wait", int, 3000,
            "Milliseconds to wait for the actual request after a preflight that fails only "
            "for credentialed requests, before concluding the browser blocked it.",
        )
        loader.add_option(
            "cors_creds_report", Optional[str], None,
            "Write a report of the final findings at shutdown to this path: JSON (.json) "
            "or Markdown (.md), chosen by the extension.",
        )
        loader.add_option(
            "cors_creds_max_entries", int, 4096,
            "Cap on remembered preflights and redirect hops (memory stays flat).",
        )

    def configure(self, updated: set[str]) -> None:
        if "cors_creds_marker" in updated:
            m = ctx.options.cors_creds_marker
            if m and m not in emoji.emoji and not (len(m) == 1 and m.isascii() and m.isalnum()):
                raise exceptions.OptionsError(
                    f"cors_creds_marker: {m!r} is not an emoji shortcode (like :no_entry:), "
                    "a single letter or digit, or empty"
                )
        if "cors_creds_filter" in updated:
            spec = ctx.options.cors_creds_filter
            if spec:
                try:
                    self.filter = flowfilter.parse(spec)
                except ValueError as e:
                    raise exceptions.OptionsError(f"cors_creds_filter: {e}") from e
            else:
                self.filter = None
        if "cors_creds_report" in updated:
            path = ctx.options.cors_creds_report
            if path and os.path.splitext(path)[1].lower() not in REPORT_FORMATS:
                raise exceptions.OptionsError(
                    f"cors_creds_report: {path!r} must end in one of "
                    + ", ".join(sorted(REPORT_FORMATS))
                )
        if updated & {"cors_creds_preflight_wait", "cors_creds_max_entries"}:
            wait = ctx.options.cors_creds_preflight_wait
            cap = ctx.options.cors_creds_max_entries
            if wait < 0:
                raise exceptions.OptionsError("cors_creds_preflight_wait must be >= 0 ms")
            if cap < 1:
                raise exceptions.OptionsError("cors_creds_max_entries must be >= 1")
            self.analyzer = Analyzer(max_entries=cap, preflight_wait=wait / 1000)
            self.awaiting.clear()

    def running(self) -> None:
        if self.deferral is None:
            self.deferral = SaveDeferral.install(lambda f: f.id in self.awaiting)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._expire_loop())

    def done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._apply(self.analyzer.flush(), None)
        if self.deferral is not None:
            self.deferral.uninstall()
            self.deferral = None
        if self.lookahead is not None:
            self.lookahead.close()
            self.lookahead = None
        for line in self.report.summary_lines():
            logger.info(f"[cors] {line}")
        path = ctx.options.cors_creds_report
        if path:
            self.write_report(path)

    def write_report(self, path: str) -> None:
        render = REPORT_FORMATS[os.path.splitext(path)[1].lower()]
        try:
            with open(os.path.expanduser(path), "w", encoding="utf-8") as fh:
                fh.write(render(self.report))
        except OSError as e:
            logger.warning(f"[cors] cannot write report {path}: {e}")
        else:
            logger.info(f"[cors] report written to {path}")

    def request(self, flow: http.HTTPFlow) -> None:
        if not self._wanted(flow):
            return
        try:
            ex = exchange_of(flow)
            self._seen(ex.timestamp)
            self._apply(self.analyzer.request(ex), flow)
        except Exception as e:  # never let a bad flow break the proxy
            self._internal_error(flow, e)

    def response(self, flow: http.HTTPFlow) -> None:
        if not self._wanted(flow) or flow.response is None:
            return
        try:
            ex = exchange_of(flow)
            self._apply(self.analyzer.response(ex), flow)
            if flow.id in self.awaiting and not flow.live:
                self._look_ahead(flow, ex)
        except Exception as e:
            self._internal_error(flow, e)

    def _look_ahead(self, flow: http.HTTPFlow, ex: Exchange) -> None:
        """Offline, settle a pending preflight from the flows after it in the file."""
        if self.lookahead is None:
            path = ctx.options.rfile
            if not path or path == "-" or not os.path.isfile(path):
                return
            self.lookahead = Lookahead(path)
        if self.lookahead.broken:
            return
        self._apply(self.analyzer.decide_pending(flow.id, self.lookahead.after(ex)), flow)

    # -- helpers
    def _wanted(self, flow: http.HTTPFlow) -> bool:
        return self.filter is None or bool(self.filter(flow))

    def _seen(self, ts: float) -> None:
        if ts > self._last_ts:
            self._last_ts = ts
        self._last_mono = time.monotonic()

    def _now(self) -> float:
        """Flow time, advancing with the wall clock while no flow arrives: right for live
        traffic and for captures read from a file alike."""
        return self._last_ts + (time.monotonic() - self._last_mono)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                self._apply(self.analyzer.expire(self._now()), None)
            except Exception as e:
                self._internal_error(None, e)

    def _apply(self, updates: list, current: http.HTTPFlow | None) -> None:
        changed = []
        marker = ctx.options.cors_creds_marker
        for key, finding in updates:
            waiting = self.awaiting.pop(key, None)
            if current is not None and key == current.id:
                flow = current
            elif waiting is not None:
                flow = waiting
                changed.append(flow)
            else:
                continue
            annotate(flow, finding, marker)
            self.report.add(key, finding, flow.request.timestamp_start or 0.0)
            if finding.related.get("awaiting_actual"):
                self.awaiting[key] = flow
                while len(self.awaiting) > self.analyzer.max_entries:
                    del self.awaiting[next(iter(self.awaiting))]
            self._log(finding)
        if changed:
            if self.deferral is not None:
                for flow in changed:
                    self.deferral.release(flow)
            ctx.master.addons.trigger(hooks.UpdateHook(changed))

    @staticmethod
    def _log(finding: Finding) -> None:
        if finding.hidden:
            logger.warning(finding.log_line())
        elif finding.noteworthy:
            logger.info(finding.log_line())

    @staticmethod
    def _internal_error(flow: http.HTTPFlow | None, e: Exception) -> None:
        where = f" on {flow.request.method} {redact_url(flow.request.url)}" if flow else ""
        logger.warning(f"[cors] internal error{where}: {type(e).__name__}: {e}")
        logger.debug("cors-creds traceback", exc_info=True)


addons = [CorsCreds()]
