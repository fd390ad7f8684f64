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
import sys
import time
import weakref
from collections.abc import Sequence
from typing import Optional

import mitmproxy.types as mtypes
from mitmproxy import command, ctx, exceptions, flowfilter, hooks, http
from mitmproxy import flow as mflow
from mitmproxy.addonmanager import traverse
from mitmproxy.utils import emoji

import cors_contentview
from cors_capture import (
    ReadErrorExplainer,
    SaveDeferral,
    exchange_of,
    has_origin,
    method_of,
    origin_header,
    url_of,
)
from corscore import Analyzer, Finding, redact_url
from corscore.analyzer import exchange_signature
from corscore.explain import explain
from corscore.repeats import Repeats
from corscore.report import Report

logger = logging.getLogger(__name__)

META_KEY = "cors_creds"
_SEP = " | "
REPORT_FORMATS = {".json": Report.to_json, ".md": Report.to_markdown, ".html": Report.to_html}
FAIL_ON = ("credentialed", "hidden")
REPORT_MAX_FLOWS = 10_000  # per-flow report entries kept, when kept at all
UPDATE_BATCH = 32  # earlier flows changed before the update event is sent at once


def render(finding: Finding, marker: str) -> dict:
    """The metadata of a finding as written onto its flow (``annotate``)."""
    meta = finding.to_metadata(comment=True)
    meta["marked"] = marker if marker and finding.hidden else ""
    return meta


def annotate(flow: mflow.Flow, finding: Finding, marker: str) -> dict:
    """Write a finding onto the flow, replacing our earlier annotation if any and
    keeping whatever the user wrote in the comment. Returns the metadata written."""
    metadata = flow.metadata
    previous = metadata.get(META_KEY)
    comment = flow.comment
    if isinstance(previous, dict):
        old = previous.get("comment") or ""
        if old and comment.endswith(old):
            comment = comment[: -len(old)].removesuffix(_SEP)
            flow.comment = comment
        if previous.get("marked") and flow.marked == previous.get("marked"):
            flow.marked = ""
    meta = render(finding, marker)
    ours, marked = meta["comment"], meta["marked"]
    metadata[META_KEY] = meta
    if ours:
        flow.comment = f"{comment}{_SEP}{ours}" if comment else ours
    if marked:
        flow.marked = marked
    return meta


class ExitCode:
    """Registered last, so that its ``done`` runs after Save and hardump have written
    their files: exits non-zero when the run had findings (CI mode)."""

    name = "cors_creds_exit"

    def __init__(self, owner: "CorsCreds") -> None:
        self.owner = owner

    def done(self) -> None:
        code = self.owner.exit_code()
        if code:
            sys.exit(code)


class CorsCreds:
    def __init__(self) -> None:
        self.analyzer = Analyzer()
        self.filter: flowfilter.TFilter | None = None
        self.marker = ":no_entry:"
        # flows whose verdict may still change: the flow, or a weak reference to it while
        # no other addon handles update (see _hold)
        self.awaiting: dict[str, http.HTTPFlow | weakref.ref] = {}
        self._listened = True  # whether another addon handles update (until running() tells)
        self._changed: dict[str, http.HTTPFlow] = {}  # earlier flows changed, update not yet sent
        self.report = Report(max_flows=REPORT_MAX_FLOWS)
        self.repeats = Repeats()
        self.deferral: SaveDeferral | None = None
        self.read_errors = ReadErrorExplainer()
        self._last_ts = 0.0
        self._last_mono = time.monotonic()
        self._timer: asyncio.Task | None = None
        self._running = False

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
            "At shutdown, write a report of the final findings to this path: JSON (.json), "
            "Markdown (.md) or a self-contained HTML page (.html), chosen by the extension.",
        )
        loader.add_option(
            "cors_creds_fail_exit", int, 0,
            "If not 0, mitmdump exits with this code when the run had findings "
            "(see cors_creds_fail_on): a CI gate over a capture.",
        )
        loader.add_option(
            "cors_creds_fail_on", str, "credentialed",
            "Which findings make cors_creds_fail_exit apply: 'credentialed' (a credentialed "
            "response hidden from JavaScript) or 'hidden' (any response hidden).",
            choices=FAIL_ON,
        )
        loader.add_option(
            "cors_creds_log_repeats", int, 3,
            "Log the first N identical findings (same page origin, API path and reason) in "
            "full, then only counts at 10, 100, 1000…; 0 logs every one.",
        )
        loader.add_option(
            "cors_creds_max_entries", int, 4096,
            "Cap on remembered preflights, redirect hops and log counters (memory stays flat).",
        )
        cors_contentview.register()
        self.read_errors.install()

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if "cors_creds_marker" in updated:
            m = opts.cors_creds_marker
            if m and m not in emoji.emoji and not (len(m) == 1 and m.isascii() and m.isalnum()):
                raise exceptions.OptionsError(
                    f"cors_creds_marker: {m!r} is not an emoji shortcode (like :no_entry:), "
                    "a single letter or digit, or empty"
                )
            self.marker = m  # read once here: every ctx.options read copies the value
        if "cors_creds_filter" in updated:
            self.filter = None
            if opts.cors_creds_filter:
                try:
                    self.filter = flowfilter.parse(opts.cors_creds_filter)
                except ValueError as e:
                    raise exceptions.OptionsError(f"cors_creds_filter: {e}") from e
        if "cors_creds_report" in updated and opts.cors_creds_report:
            ext = os.path.splitext(opts.cors_creds_report)[1].lower()
            if ext not in REPORT_FORMATS:
                raise exceptions.OptionsError(
                    f"cors_creds_report: {opts.cors_creds_report!r} must end in "
                    + ", ".join(sorted(REPORT_FORMATS))
                )
        if "cors_creds_report" in updated and self._running:
            self._size_report()
        if "save_stream_file" in updated and self._running:
            self._sync_deferral()
        if "scripts" in updated and self._running:
            self._sync_listeners()
        if "cors_creds_fail_on" in updated and opts.cors_creds_fail_on not in FAIL_ON:
            raise exceptions.OptionsError(
                f"cors_creds_fail_on: {opts.cors_creds_fail_on!r} is not one of {', '.join(FAIL_ON)}")
        if "cors_creds_fail_exit" in updated:
            if not 0 <= opts.cors_creds_fail_exit <= 255:
                raise exceptions.OptionsError("cors_creds_fail_exit must be between 0 and 255")
            self._ensure_exit_addon()
        if updated & {"cors_creds_log_repeats", "cors_creds_max_entries"}:
            if opts.cors_creds_log_repeats < 0:
                raise exceptions.OptionsError("cors_creds_log_repeats must be >= 0")
            self.repeats = Repeats(opts.cors_creds_log_repeats, max(opts.cors_creds_max_entries, 1))
        if updated & {"cors_creds_preflight_wait", "cors_creds_max_entries"}:
            if opts.cors_creds_preflight_wait < 0:
                raise exceptions.OptionsError("cors_creds_preflight_wait must be >= 0 ms")
            if opts.cors_creds_max_entries < 1:
                raise exceptions.OptionsError("cors_creds_max_entries must be >= 1")
            self.analyzer = Analyzer(max_entries=opts.cors_creds_max_entries,
                                     preflight_wait=opts.cors_creds_preflight_wait / 1000)
            self.awaiting.clear()
            self.report.max_open = opts.cors_creds_max_entries

    def running(self) -> None:
        self._running = True
        self._sync_listeners()
        self._sync_deferral()
        self._size_report()
        self._ensure_exit_addon()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._expire_loop())

    def _sync_listeners(self) -> None:
        """Whether any other addon handles ``update`` (mitmweb's and the console's view, a
        script). Plain mitmdump has none: then a flow awaiting a late verdict is held by
        weak reference (nothing could see the annotation of a flow nobody else holds, and
        keeping it alive would only age it into the collector's oldest generation; its
        verdict still goes to the report and the log), and no update event is sent.
        Checked at start, when scripts change and on every timer tick."""
        self._listened = any(a is not self and callable(getattr(a, "update", None))
                             for a in traverse(ctx.master.addons.chain))

    def _sync_deferral(self) -> None:
        """Hold back ``-w`` writes of open flows only while mitmproxy writes a stream
        file: without one the wrapper around Save's hook would cost every flow a call."""
        if getattr(ctx.options, "save_stream_file", None):  # Save may not be loaded
            if self.deferral is None:
                self.deferral = SaveDeferral.install(lambda f: f.id in self.awaiting)
        elif self.deferral is not None:
            self.deferral.uninstall()
            self.deferral = None

    def _size_report(self) -> None:
        """Per-flow report entries cost memory and collector time on every flow: keep
        them only where something can ask for them, a report file or an interactive
        tool (mitmweb, the console: ``cors.report`` at any time). Counts and the summary
        are kept always."""
        keep = bool(ctx.options.cors_creds_report) or ctx.master.addons.get("view") is not None
        self.report.max_flows = REPORT_MAX_FLOWS if keep else 0

    def _ensure_exit_addon(self) -> None:
        """The exit-code addon exists only while cors_creds_fail_exit is set (an idle
        addon still costs every event a dispatch)."""
        if not self._running or not ctx.options.cors_creds_fail_exit:
            return
        exit_addon = ctx.master.addons.get(ExitCode.name)
        if exit_addon is None:
            ctx.master.addons.add(ExitCode(self))
        else:  # after a hot reload: the new instance takes over
            exit_addon.owner = self

    def done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._apply(self.analyzer.flush(), None)
        self._flush_updates()
        if self.deferral is not None:
            self.deferral.uninstall()
            self.deferral = None
        self._log_summary()
        if ctx.options.cors_creds_report:
            self.write_report(ctx.options.cors_creds_report)
        cors_contentview.unregister()
        self.read_errors.uninstall()

    # -- flow hooks
    def request(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        ts = req.data.timestamp_start or 0.0
        if ts > self._last_ts:  # the clock for _now(), kept inline: this runs on every flow
            self._last_ts = ts
            self._last_mono = time.monotonic()
        analyzer = self.analyzer
        pending = analyzer.pending_methods
        if not pending:
            return  # only a preflight awaiting its actual request cares about requests
        try:
            updates = analyzer.expire(ts) if analyzer.expiry_due(ts) else []
            method = method_of(req.data.method)
            if (method in pending and self._wanted(flow)
                    and analyzer.awaits(origin_header(req), url_of(req), method)):
                updates += analyzer.request(exchange_of(flow, response=False))
            if updates:
                self._apply(updates, flow)
        except Exception as e:  # never let a bad flow break the proxy
            self._internal_error(flow, e)

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or not has_origin(flow.request) or not self._wanted(flow):
            return  # without an Origin header nothing is CORS
        try:
            self._apply(self._response_updates(flow), flow)
        except Exception as e:
            self._internal_error(flow, e)

    def _response_updates(self, flow: http.HTTPFlow) -> list:
        """The core's updates for a response: looked up when an earlier exchange had the
        same inputs (an app calls the same endpoints over and over), computed otherwise."""
        req, resp = flow.request.data, flow.response.data
        url = url_of(flow.request)
        signature = exchange_signature(method_of(req.method), url, req.headers.fields,
                                       resp.status_code, resp.headers.fields,
                                       flow.websocket is not None)
        if signature is not None:
            updates = self.analyzer.remembered_response(signature, flow.id, url,
                                                        req.timestamp_start or 0.0)
            if updates is not None:
                return updates
        return self.analyzer.response(exchange_of(flow), signature)

    # -- commands
    @command.command("cors.explain")
    def explain_flows(self, flows: Sequence[mflow.Flow]) -> str:
        """The full CORS explanation of each flow: checks, values, fix, related flows."""
        return "\n".join(
            f"== {f.request.method} {redact_url(f.request.url)}\n{explain(f.metadata.get(META_KEY))}"
            for f in flows if isinstance(f, http.HTTPFlow)
        )

    @command.command("cors.check")
    def check_flows(self, flows: Sequence[mflow.Flow]) -> int:
        """Analyse these flows again, in time order, as one capture; returns how many
        the browser would hide."""
        analyzer = Analyzer(max_entries=ctx.options.cors_creds_max_entries,
                            preflight_wait=ctx.options.cors_creds_preflight_wait / 1000)
        todo = sorted((f for f in flows if isinstance(f, http.HTTPFlow)),
                      key=lambda f: f.request.timestamp_start or 0.0)
        by_id = {f.id: f for f in todo}
        updates = []
        for f in todo:
            ex = exchange_of(f)
            updates += analyzer.request(ex) + analyzer.response(ex)
        updates += analyzer.flush()
        final = {key: finding for key, finding in updates}
        marker = ctx.options.cors_creds_marker
        for key, finding in final.items():
            meta = annotate(by_id[key], finding, marker)
            self.report.add(key, meta, by_id[key].request.timestamp_start or 0.0)
        ctx.master.addons.trigger(hooks.UpdateHook([by_id[k] for k in final]))
        return sum(1 for f in final.values() if f.hidden)

    @command.command("cors.report")
    def write_report(self, path: mtypes.Path) -> None:
        """Write the report now: .json, .md or .html."""
        ext = os.path.splitext(path)[1].lower()
        render = REPORT_FORMATS.get(ext)
        if render is None:
            raise exceptions.CommandError(f"cors.report: {path} must end in "
                                          + ", ".join(sorted(REPORT_FORMATS)))
        try:
            with open(os.path.expanduser(path), "w", encoding="utf-8") as fh:
                fh.write(render(self.report))
        except OSError as e:
            logger.warning(f"[cors] cannot write report {path}: {e}")
        else:
            logger.info(f"[cors] report written to {path}")

    # -- helpers
    def exit_code(self) -> int:
        code = ctx.options.cors_creds_fail_exit
        key = "hidden_credentialed" if ctx.options.cors_creds_fail_on == "credentialed" else "hidden"
        return code if code and self.report.counts[key] > 0 else 0

    def _wanted(self, flow: http.HTTPFlow) -> bool:
        return self.filter is None or bool(self.filter(flow))

    def _now(self) -> float:
        """Flow time, advancing with the wall clock while no flow arrives: right for live
        traffic and for captures read from a file alike."""
        return self._last_ts + (time.monotonic() - self._last_mono)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                self._sync_listeners()
                self._apply(self.analyzer.expire(self._now()), None)
                self._flush_updates()
            except Exception as e:
                self._internal_error(None, e)

    def _apply(self, updates: list, current: http.HTTPFlow | None) -> None:
        changed = []
        marker = self.marker
        for key, finding in updates:
            waiting = self.awaiting.pop(key, None)
            if current is not None and key == current.id:
                flow = current
            elif waiting is not None:
                flow = waiting() if type(waiting) is weakref.ref else waiting
                if flow is None:  # gone: nobody else held it; the report and log still tell
                    self.report.add(key, render(finding, marker), None)
                    self._log(finding)
                    continue
                changed.append(flow)
            else:
                continue
            meta = annotate(flow, finding, marker)
            open_ = "awaiting_actual" in finding.related
            self.report.add(key, meta, flow.request.data.timestamp_start or 0.0, not open_)
            if open_:
                self._hold(key, flow)
            if meta["comment"]:  # the finding is noteworthy
                self._log(finding)
        for flow in changed:
            if self.deferral is not None:
                self.deferral.release(flow)
            if self._listened:
                self._changed[flow.id] = flow
        if len(self._changed) >= UPDATE_BATCH:
            self._flush_updates()

    def _hold(self, key: str, flow: http.HTTPFlow) -> None:
        """Keep a flow whose verdict may still change, to annotate it again when it settles:
        by weak reference while nobody handles update (``_sync_listeners``)."""
        self.awaiting[key] = flow if self._listened else weakref.ref(flow)
        while len(self.awaiting) > self.analyzer.max_entries:
            del self.awaiting[next(iter(self.awaiting))]

    def _flush_updates(self) -> None:
        """Tell the other addons (mitmweb's view) which earlier flows changed, in one
        update event: an event walks every addon in the chain (about 60 us in mitmdump),
        so changes are batched until the next timer tick, shutdown, or UPDATE_BATCH
        flows (the timer cannot run while mitmdump -nr reads a file)."""
        if self._changed:
            changed, self._changed = list(self._changed.values()), {}
            ctx.master.addons.trigger(hooks.UpdateHook(changed))

    def _log(self, finding: Finding) -> None:
        if not finding.noteworthy:
            return
        api = finding.url.split("?", 1)[0]
        full, n = self.repeats.see((finding.origin, api, finding.reason, finding.verdict))
        level = logging.WARNING if finding.hidden else logging.INFO
        if full:
            logger.log(level, finding.log_line())
        elif Repeats.milestone(n):
            logger.log(level, f"[cors] ×{n} {finding.reason or 'note'} for {api} from "
                              f"{finding.origin} (repeats not logged; see the summary)")

    def _log_summary(self) -> None:
        c = self.report.counts
        if not c["cors_flows"]:
            return
        logger.info(f"[cors] summary: {c['cors_flows']} CORS flows, {c['hidden']} hidden from "
                    f"JavaScript ({c['hidden_credentialed']} credentialed); correlation state "
                    f"{self.analyzer.state_size()} entries (cap {self.analyzer.max_entries})")
        for line in self.report.summary_lines():
            logger.info(f"[cors] {line}")

    @staticmethod
    def _internal_error(flow: http.HTTPFlow | None, e: Exception) -> None:
        where = f" on {flow.request.method} {redact_url(flow.request.url)}" if flow else ""
        logger.warning(f"[cors] internal error{where}: {type(e).__name__}")
        logger.debug("cors-creds traceback", exc_info=True)


addons = [CorsCreds()]
