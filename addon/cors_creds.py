"""cors-creds: mark every cross-origin response the browser will hide from JavaScript.

    mitmdump -s addon/cors_creds.py
    mitmweb -s addon/cors_creds.py
    mitmdump -nr capture.har -s addon/cors_creds.py -w annotated.mitm

The adapter: hooks in, annotations out. ``cors_flow`` reads a flow into the sans-IO
core (``corscore``), the core returns findings, and ``corscore.render`` makes the one
dict that becomes the flow's marker, comment, ``flow.metadata["cors_creds"]``, log
line and report entry. The traffic itself is never changed.
"""

from __future__ import annotations

import asyncio
import collections
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
import cors_flow
from cors_capture import ReadErrorExplainer, SaveDeferral
from cors_flow import PROBE_KEY
from corscore import Analyzer, Update
from corscore.http import redact_url, without_query
from corscore.render import KEY, explain, log_line, remedy_text, render, with_security
from corscore.report import Report
from corscore.state import Repeats

logger = logging.getLogger(__name__)

_SEP = " | "
REPORT_FORMATS = {".json": Report.to_json, ".md": Report.to_markdown, ".html": Report.to_html}
FAIL_ON = ("credentialed", "hidden", "cookies", "security")
PROBE_RATE = 4.0  # probe requests a second, at most (a burst of as many)
PROBE_QUEUE = 256  # probe requests waiting to be sent, at most
REPORT_MAX_FLOWS = 10_000  # per-flow report entries kept, when kept at all


def annotate(flow: mflow.Flow, meta: dict) -> None:
    """Write rendered metadata onto the flow, replacing our earlier annotation if any
    and keeping whatever the user wrote in the comment."""
    previous = flow.metadata.get(KEY)
    comment = flow.comment
    if isinstance(previous, dict):
        old = previous.get("comment") or ""
        if old and comment.endswith(old):
            comment = comment[: -len(old)].removesuffix(_SEP)
            flow.comment = comment
        if previous.get("marked") and flow.marked == previous.get("marked"):
            flow.marked = ""
    flow.metadata[KEY] = meta
    if meta["comment"]:
        flow.comment = f"{comment}{_SEP}{meta['comment']}" if comment else meta["comment"]
    if meta["marked"]:
        flow.marked = meta["marked"]


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
        self.report = Report(max_flows=REPORT_MAX_FLOWS)
        self.repeats = Repeats()
        self.deferral: SaveDeferral | None = None
        self.read_errors = ReadErrorExplainer()
        self._clock = (0.0, time.monotonic())  # the latest flow time, and when it was read
        self._listened = True  # whether another addon handles update (set by _sync)
        self._timer: asyncio.Task | None = None
        self._running = False
        self.probing = False  # cors_creds_probe
        self._probe_queue: collections.deque = collections.deque()
        self._probe_tokens = PROBE_RATE

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
            "response hidden from JavaScript), 'hidden' (any response hidden) or 'cookies' "
            "(a Set-Cookie line the browser refuses or a cookie it does not send, certain "
            "ones only) or 'security' (a high or medium security finding).",
            choices=FAIL_ON,
        )
        loader.add_option(
            "cors_creds_log_repeats", int, 3,
            "Log the first N identical findings (same page origin, API path and reason) in "
            "full, then only counts at 10, 100, 1000…; 0 logs every one.",
        )
        loader.add_option(
            "cors_creds_cookies", bool, True,
            "Follow each client's cookies (names and attributes, never values): say which "
            "Set-Cookie lines the browser refuses and which cookies it does not send.",
        )
        loader.add_option(
            "cors_creds_probe", bool, False,
            "Opt-in: for each credentialed CORS endpoint (origin + path), once, send the "
            "request again with forged Origin headers (an unrelated origin, null, http, "
            "look-alikes; GET and HEAD as they were, any other method only its preflight) and "
            "report which the server trusts with credentials. Rate-limited, never follows "
            "redirects. Off (the default): the addon never sends a request of its own.",
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
            self.marker = m
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
        if "cors_creds_fail_on" in updated and opts.cors_creds_fail_on not in FAIL_ON:
            raise exceptions.OptionsError(
                f"cors_creds_fail_on: {opts.cors_creds_fail_on!r} is not one of {', '.join(FAIL_ON)}")
        if "cors_creds_probe" in updated:
            self.probing = opts.cors_creds_probe
            if not self.probing:
                self._probe_queue.clear()
        if "cors_creds_fail_exit" in updated and not 0 <= opts.cors_creds_fail_exit <= 255:
            raise exceptions.OptionsError("cors_creds_fail_exit must be between 0 and 255")
        if updated & {"cors_creds_log_repeats", "cors_creds_max_entries"}:
            if opts.cors_creds_log_repeats < 0:
                raise exceptions.OptionsError("cors_creds_log_repeats must be >= 0")
            self.repeats = Repeats(opts.cors_creds_log_repeats, max(opts.cors_creds_max_entries, 1))
        if updated & {"cors_creds_preflight_wait", "cors_creds_max_entries", "cors_creds_cookies"}:
            if opts.cors_creds_preflight_wait < 0:
                raise exceptions.OptionsError("cors_creds_preflight_wait must be >= 0 ms")
            if opts.cors_creds_max_entries < 1:
                raise exceptions.OptionsError("cors_creds_max_entries must be >= 1")
            self.analyzer = self._new_analyzer()
        if self._running:
            self._sync()

    def running(self) -> None:
        self._running = True
        self._sync()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._expire_loop())

    def _sync(self) -> None:
        """What depends on other addons and their options, set up once mitmproxy runs."""
        # An earlier flow whose verdict changed is announced with an update event only
        # when an addon handles update (mitmweb's and the console's view, a script):
        # plain mitmdump has none, and each event walks every addon in the chain (with
        # the benchmark mix, 45,000 instructions a flow, 0.46 % of mitmdump's own).
        self._sync_listeners()
        # Hold back -w writes of open flows only while a stream file is written: without
        # one, the wrapper around Save's hook would cost every flow a call.
        if getattr(ctx.options, "save_stream_file", None):  # Save may not be loaded
            if self.deferral is None:
                self.deferral = SaveDeferral.install(lambda f: self.analyzer.is_open(f.id))
        elif self.deferral is not None:
            self.deferral.uninstall()
            self.deferral = None
        # Per-flow report entries only where something can ask for them: a report file or
        # an interactive tool (mitmweb, the console: cors.report at any time).
        keep = bool(ctx.options.cors_creds_report) or ctx.master.addons.get("view") is not None
        self.report.max_flows = REPORT_MAX_FLOWS if keep else 0
        # The exit-code addon exists only while cors_creds_fail_exit is set.
        if ctx.options.cors_creds_fail_exit:
            exit_addon = ctx.master.addons.get(ExitCode.name)
            if exit_addon is None:
                ctx.master.addons.add(ExitCode(self))
            else:  # after a hot reload: the new instance takes over
                exit_addon.owner = self

    def _sync_listeners(self) -> None:
        self._listened = any(a is not self and callable(getattr(a, "update", None))
                             for a in traverse(ctx.master.addons.chain))

    def done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._apply(self.analyzer.flush())
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
        if PROBE_KEY in flow.metadata:
            return  # our own probe: kept out of the analysis
        req, a = flow.request, self.analyzer
        ts = req.timestamp_start or 0.0
        if ts > self._clock[0]:
            self._clock = (ts, time.monotonic())
        if not a.waiting():
            return  # only a preflight awaiting its actual request cares about requests
        try:
            ex = None
            method = req.method  # (the path only when a preflight awaits the method)
            if a.awaits(method) and a.awaits(method, without_query(req.path)) and self._wanted(flow):
                ex = cors_flow.read(flow, response=False)
            updates = a.request(ex) if ex else a.expire(ts)
            if updates:
                self._apply(updates, flow)
        except Exception as e:  # never let a bad flow break the proxy
            self._internal_error(flow, e)

    def response(self, flow: http.HTTPFlow) -> None:
        if PROBE_KEY in flow.metadata:
            return self._probe_answered(flow)
        if flow.response is None or not self._wanted(flow):
            return
        try:
            a = self.analyzer
            ex = cors_flow.read(flow, cookies=a.cookies, every=a.knows_cookies)
            if ex is not None:
                self._apply(a.response(ex, self._handle(flow)), flow)
                if self.probing and flow.live:
                    self._queue_probes(flow, a.probe_plan(ex, flow))
        except Exception as e:
            self._internal_error(flow, e)

    def error(self, flow: http.HTTPFlow) -> None:
        if PROBE_KEY in flow.metadata:
            self._probe_answered(flow)

    # -- commands
    @command.command("cors.explain")
    def explain_flows(self, flows: Sequence[mflow.Flow]) -> str:
        """The full CORS explanation of each flow: checks, values, fix, related flows."""
        return "\n".join(
            f"== {f.request.method} {redact_url(f.request.url)}\n{explain(f.metadata.get(KEY))}"
            for f in flows if isinstance(f, http.HTTPFlow)
        )

    @command.command("cors.remedy")
    def remedy_flows(self, flows: Sequence[mflow.Flow]) -> str:
        """Every response to change, as ready-to-paste header blocks, for the browser to
        hand each of these flows' requests to JavaScript."""
        return "\n".join(
            f"== {f.request.method} {redact_url(f.request.url)}\n"
            + remedy_text((f.metadata.get(KEY) or {}).get("remedy"))
            for f in flows if isinstance(f, http.HTTPFlow)
        )

    @command.command("cors.check")
    def check_flows(self, flows: Sequence[mflow.Flow]) -> int:
        """Analyse these flows again, in time order, as one capture; returns how many
        the browser would hide."""
        analyzer = self._new_analyzer()
        updates: list[Update] = []
        for f in sorted((f for f in flows if isinstance(f, http.HTTPFlow)),
                        key=lambda f: f.request.timestamp_start or 0.0):
            ex = cors_flow.read(f, cookies=analyzer.cookies, every=analyzer.knows_cookies)
            if ex is not None:
                updates += analyzer.request(ex) + analyzer.response(ex, f)
        final = {u.key: u for u in updates + analyzer.flush()}  # the last update of each
        for u in final.values():
            meta = render(u.finding, self.marker, u.cookies, u.security)
            annotate(u.handle, meta)
            self.report.add(u.key, meta, u.timestamp)
        ctx.master.addons.trigger(hooks.UpdateHook([u.handle for u in final.values()]))
        return sum(1 for u in final.values() if u.finding is not None and u.finding.hidden)

    @command.command("cors.probe")
    def probe_flows(self, flows: Sequence[mflow.Flow]) -> int:
        """Probe these flows' credentialed CORS endpoints now, whatever cors_creds_probe
        says (each endpoint once per call; cors_creds_filter applies): forged Origin headers, GET and HEAD as they
        were, any other method only its preflight. Returns how many endpoints."""
        n = 0
        for f in flows:
            if not isinstance(f, http.HTTPFlow) or f.response is None or PROBE_KEY in f.metadata \
                    or not self._wanted(f):
                continue
            ex = cors_flow.read(f)
            probes = self.analyzer.probe_plan(ex, f, force=True) if ex is not None else ()
            n += self._queue_probes(f, probes)
        self._send_probes()
        return n

    @command.command("cors.report")
    def write_report(self, path: mtypes.Path) -> None:
        """Write the report now: .json, .md or .html."""
        to_text = REPORT_FORMATS.get(os.path.splitext(path)[1].lower())
        if to_text is None:
            raise exceptions.CommandError(f"cors.report: {path} must end in "
                                          + ", ".join(sorted(REPORT_FORMATS)))
        try:
            with open(os.path.expanduser(path), "w", encoding="utf-8") as fh:
                fh.write(to_text(self.report))
        except OSError as e:
            logger.warning(f"[cors] cannot write report {path}: {e}")
        else:
            logger.info(f"[cors] report written to {path}")

    # -- helpers
    def exit_code(self) -> int:
        code = ctx.options.cors_creds_fail_exit
        c = self.report.counts
        found = {"credentialed": c["hidden_credentialed"], "hidden": c["hidden"],
                 "cookies": c["cookies_refused"] + c["cookies_withheld"],
                 "security": c["security_high"] + c["security_medium"]}
        return code if code and found[ctx.options.cors_creds_fail_on] > 0 else 0

    def _new_analyzer(self) -> Analyzer:
        return Analyzer(max_entries=ctx.options.cors_creds_max_entries,
                        preflight_wait=ctx.options.cors_creds_preflight_wait / 1000,
                        cookies=ctx.options.cors_creds_cookies)

    def _wanted(self, flow: http.HTTPFlow) -> bool:
        return self.filter is None or bool(self.filter(flow))

    async def _expire_loop(self) -> None:
        """Settle pending preflights on flow time, advancing with the wall clock while no
        flow arrives: right for live traffic and for captures read from a file alike."""
        while True:
            await asyncio.sleep(0.25)
            try:
                self._sync_listeners()  # a script may have been loaded meanwhile
                ts, mono = self._clock
                now = ts + time.monotonic() - mono
                self._apply(self.analyzer.expire(now))
                for handle, found in self.analyzer.probe_expire(now):
                    self._probed(handle, found)
                self._probe_tokens = min(PROBE_RATE, self._probe_tokens + PROBE_RATE / 4)
                self._send_probes()
            except Exception as e:
                self._internal_error(None, e)

    def _handle(self, flow: http.HTTPFlow):
        """What the core keeps of a flow whose verdict may change later (a preflight
        awaiting its actual request): the flow itself while something else can still see
        it (an addon handling update: mitmweb's or the console's view, a script; a -w
        write held back), else a weak reference. Plain mitmdump drops a flow once its
        hooks ran; holding it for the preflight wait moved whole flows into the
        collector's oldest generation (measured with the benchmark's instruction count)."""
        return flow if self._listened or self.deferral is not None else weakref.ref(flow)

    def _apply(self, updates: list[Update], current: http.HTTPFlow | None = None) -> None:
        """Annotate each updated flow (gone: nothing can see it); a final finding goes to
        the report, a noteworthy one to the log; an earlier flow changed is announced
        (update event, when anyone listens) and, if its -w write was held back, written."""
        for key, finding, handle, cookies, security, ts in updates:
            flow = handle() if type(handle) is weakref.ref else handle
            meta = render(finding, self.marker, cookies, security)
            if flow is not None:
                annotate(flow, meta)
            if finding is None or not finding.open:
                self.report.add(key, meta, ts)
            if meta["comment"]:
                self._log(meta)
            if flow is not current and flow is not None:
                if self.deferral is not None:
                    self.deferral.release(flow)
                if self._listened:
                    ctx.master.addons.trigger(hooks.UpdateHook([flow]))

    def _log(self, meta: dict) -> None:
        api = without_query(meta["url"])
        full, n = self.repeats.see((meta["origin"], api, meta["reason"], meta["verdict"]))
        level = logging.WARNING if meta["verdict"] in ("hidden", None) or (
            meta["cookies"] or {}).get("lead") or any(
            s["severity"] == "high" for s in meta.get("security") or ()) else logging.INFO
        if full:
            logger.log(level, log_line(meta))
        elif Repeats.milestone(n):
            logger.log(level, f"[cors] ×{n} {meta['reason'] or 'note'} for {api} from "
                              f"{meta['origin']} (repeats not logged; see the summary)")

    def _log_summary(self) -> None:
        c = self.report.counts
        if self.analyzer.cookies and (line := self.analyzer.sanitized()):
            logger.info(f"[cors] {line}")
        if not c["cors_flows"] and not self.report.cookies:
            return
        logger.info(f"[cors] summary: {c['cors_flows']} CORS flows, {c['hidden']} hidden from "
                    f"JavaScript ({c['hidden_credentialed']} credentialed); correlation state "
                    f"{len(self.analyzer.state)} entries (cap {self.analyzer.max_entries})")
        for line in self.report.summary_lines():
            logger.info(f"[cors] {line}")

    # -- the opt-in probe
    def _queue_probes(self, flow: http.HTTPFlow, probes) -> int:
        if not probes:
            return 0
        if len(self._probe_queue) + len(probes) > PROBE_QUEUE:
            logger.info(f"[cors] probe queue full: {redact_url(flow.request.url)} not probed")
            for p in probes:  # the run concludes with no answers
                self.analyzer.probe_answer(flow.id, p.label, None)
            return 0
        self._probe_queue.extend(cors_flow.probe_flow(flow, p) for p in probes)
        logger.info(f"[cors] probing {without_query(redact_url(flow.request.url))}: "
                    f"{len(probes)} forged origins")
        return 1

    def _send_probes(self) -> None:
        """Send queued probes, at most PROBE_RATE a second (replay.client: no redirect
        is followed)."""
        batch = []
        while self._probe_queue and self._probe_tokens >= 1:
            self._probe_tokens -= 1
            batch.append(self._probe_queue.popleft())
        if batch:
            ctx.master.commands.call("replay.client", batch)

    def _probe_answered(self, flow: http.HTTPFlow) -> None:
        try:
            key, label, answer = cors_flow.probe_of(flow)
            done = self.analyzer.probe_answer(key, label, answer)
            if done is not None:
                self._probed(*done)
        except Exception as e:
            self._internal_error(flow, e)

    def _probed(self, flow: http.HTTPFlow, found) -> None:
        """A probe run concluded: its findings go on the flow it was for."""
        meta = flow.metadata.get(KEY)
        if not isinstance(meta, dict):
            return
        meta = with_security(meta, found)
        annotate(flow, meta)
        self.report.add(flow.id, meta, flow.request.timestamp_start or 0.0)
        logger.info(f"[cors] probe of {without_query(meta['url'])}: " + (
            ", ".join(f"{s.issue} ({s.severity})" for s in found) or "no forged origin trusted"))
        if found:
            self._log(meta)
        if self.deferral is not None:
            self.deferral.release(flow)
        if self._listened:
            ctx.master.addons.trigger(hooks.UpdateHook([flow]))

    @staticmethod
    def _internal_error(flow: http.HTTPFlow | None, e: Exception) -> None:
        where = f" on {flow.request.method} {redact_url(flow.request.url)}" if flow else ""
        logger.warning(f"[cors] internal error{where}: {type(e).__name__}")
        logger.debug("cors-creds traceback", exc_info=True)


addons = [CorsCreds()]
