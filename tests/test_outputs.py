"""Where users look: contentview, commands, reports, rate-limited log, summary, CI
exit code, and option validation."""

from __future__ import annotations

import asyncio
import json
import logging
from html.parser import HTMLParser

import pytest
from harness import har_entry, read_flows, run_offline, write_har
from mitmproxy import contentviews, exceptions
from mitmproxy.test import taddons

import cors_creds
from test_addon import PAGE, cors_flow, run

NEW_API = hasattr(contentviews, "Contentview")


def hidden_flow():
    return cors_flow(req=[("Cookie", "sid=SECRET-CV")], resp=[("Access-Control-Allow-Origin", PAGE)])


def render_view(flow):
    if NEW_API:
        return contentviews.prettify_message(flow.response, flow, "CORS").text
    _, lines, _ = contentviews.get_message_content_view("CORS", flow.response, flow)
    return "\n".join("".join(text for _, text in line) for line in lines)


def test_contentview_explains_a_hidden_flow():
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        f = run(addon, hidden_flow())
        text = render_view(f)
    assert "HIDDEN from JavaScript — InvalidAllowCredentials" in text
    assert "[pass] Access-Control-Allow-Origin" in text
    assert "[FAIL] Access-Control-Allow-Credentials: got (missing), want 'true'" in text
    assert ("  1. the response to GET http://127.0.0.1:9000/data:\n"
            "       Access-Control-Allow-Credentials: true") in text
    assert "Firefox reports it as CORSMissingAllowCredentials" in text
    assert "Chromium's console says:" in text
    assert "SECRET-CV" not in text


def test_contentview_on_a_non_cors_flow_and_an_empty_body():
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        f = run(addon, cors_flow(origin=None, resp=[]))
        f.response.content = b""
        assert "not a CORS flow" in render_view(f)


def test_contentview_shows_hints_and_hidden_headers():
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        f = run(addon, cors_flow(resp=[("Access-Control-Allow-Origin", "*")]))
        g = run(addon, cors_flow(req=[("Cookie", "a=b")], resp=[
            ("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Expose-Headers", "*"), ("X-Total", "3")]))
        hint, hidden = render_view(f), render_view(g)
    assert "If the page sends this with credentials" in hint and "WildcardOriginNotAllowed" in hint
    assert "JavaScript cannot read" in hidden and "x-total" in hidden


def test_explain_command_matches_the_contentview():
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        f = run(addon, hidden_flow())
        out = addon.explain_flows([f])
        assert render_view(f) in out


def test_remedy_command_gives_ready_to_paste_blocks():
    addon = cors_creds.CorsCreds()
    with taddons.context(addon) as tctx:
        f = run(addon, cors_flow(req=[("Cookie", "sid=SECRET-CV")], resp=[
            ("Access-Control-Allow-Origin", "*"), ("X-Total-Count", "3")]))
        fine = run(addon, cors_flow(resp=[("Access-Control-Allow-Origin", PAGE),
                                          ("Access-Control-Allow-Credentials", "true")]))
        out = tctx.master.commands.call("cors.remedy", [f, fine])
    blocks = [b.rstrip("\n") for b in out.split("== ")[1:]]
    assert blocks[0].splitlines()[1:] == [
        "Remedy: change these responses, all of them, for the browser to hand the response "
        "to JavaScript:",
        "  1. the response to GET http://127.0.0.1:9000/data:",
        f"       Access-Control-Allow-Origin: {PAGE}",
        "       Vary: Origin",
        "       Access-Control-Allow-Credentials: true",
        "       Access-Control-Expose-Headers: x-total-count",
    ]
    assert "nothing to change" in blocks[1]
    assert "SECRET-CV" not in out
    assert "1. the response to GET" in render_view(f)  # the contentview shows it too


def test_reports_carry_the_remedy(tmp_path):
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        run(addon, hidden_flow())
        md, html = addon.report.to_markdown(), addon.report.to_html()
        data = addon.report.to_dict()
    line = 'on this response: "Access-Control-Allow-Credentials: true"'
    assert line in md and data["summary"][0]["remedy"] == line
    assert "Access-Control-Allow-Credentials: true" in html and "<pre>" in html
    assert data["flows"][0]["remedy"]["steps"][0]["set"] == ["Access-Control-Allow-Credentials: true"]


def test_check_command_reanalyses_and_triggers_update():
    addon = cors_creds.CorsCreds()
    updated = []

    class Spy:
        def update(self, flows):
            updated.extend(flows)

    with taddons.context(addon, Spy()):
        pf = cors_flow("OPTIONS", req=[("Access-Control-Request-Method", "PUT")], status=204,
                       resp=[("Access-Control-Allow-Origin", "*"),
                             ("Access-Control-Allow-Methods", "PUT")], ts=10)
        bad = hidden_flow()
        bad.request.timestamp_start = 11
        assert addon.check_flows([bad, pf]) == 2  # the lone preflight is inferred hidden
        assert pf.metadata["cors_creds"]["reason"] == "PreflightWildcardOriginNotAllowed"
        assert bad.marked == ":no_entry:"
    assert {f.id for f in updated} >= {pf.id, bad.id}


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self._in = [], False

    def handle_starttag(self, tag, attrs):
        self._in = tag == "td"

    def handle_data(self, data):
        if self._in:
            self.cells.append(data)


@pytest.mark.parametrize("ext", [".json", ".md", ".html"])
def test_report_formats_parse_back(tmp_path, ext):
    addon = cors_creds.CorsCreds()
    path = str(tmp_path / f"report{ext}")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_report=path)
        for _ in range(3):
            run(addon, hidden_flow())
        run(addon, cors_flow(req=[("Cookie", "sid=SECRET-CV")], resp=[
            ("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]))
        addon.done()
    text = open(path, encoding="utf-8").read()
    assert "SECRET-CV" not in text
    if ext == ".json":
        data = json.loads(text)
        assert data["schema"] == "cors-creds-report/1"
        assert data["counts"] == {"cors_flows": 4, "hidden": 3, "hidden_credentialed": 3,
                                  "dropped_flows": 0, "cookies_refused": 0,
                                  "cookies_withheld": 0, "security_high": 0,
                                  "security_medium": 0, "security_low": 0}
        (group,) = data["summary"]
        assert (group["reason"], group["count"], group["page_origin"]) == (
            "InvalidAllowCredentials", 3, PAGE)
        assert len(data["flows"]) == 4
    elif ext == ".md":
        rows = [r for r in text.splitlines() if r.startswith("| ") and "InvalidAllowCredentials" in r]
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        assert cells[2] == "`InvalidAllowCredentials`" and cells[3] == "3"
    else:
        p = _Cells()
        p.feed(text)
        assert "InvalidAllowCredentials" in p.cells and "3" in p.cells
        assert "<script" not in text and "http" not in text.split("<body>")[0]


def test_report_without_per_flow_entries_keeps_exact_counts():
    """max_flows=0 (mitmdump without a report file): nothing listed, counts and summary
    exact; a finding still open counts once it is settled, once."""
    from corscore.report import Report
    from test_addon import credentials_only_preflight

    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        addon.report = Report(max_flows=0)
        for _ in range(3):
            run(addon, hidden_flow())
        pf = credentials_only_preflight()
        run(addon, pf)  # open: awaiting its actual request
        assert addon.report.counts["cors_flows"] == 3 and addon.report.counts["hidden"] == 3
        assert addon.report.entries() == []
        addon.done()  # settles the preflight: hidden, inferred
    c = addon.report.counts
    assert c == {"cors_flows": 4, "hidden": 4, "hidden_credentialed": 4, "dropped_flows": 4,
                 "cookies_refused": 0, "cookies_withheld": 0, "security_high": 0,
                 "security_medium": 0, "security_low": 0}
    assert addon.report.entries() == []
    assert sorted((g["reason"], g["count"]) for g in addon.report.summary()) == [
        ("InvalidAllowCredentials", 3), ("PreflightInvalidAllowCredentials", 1)]


@pytest.mark.parametrize("report_file,view,kept", [
    (False, False, False), (True, False, True), (False, True, True)])
def test_per_flow_report_entries_kept_only_where_asked_for(tmp_path, report_file, view, kept):
    """Per-flow entries cost memory and collector time on every flow: kept with a report
    file, or in mitmweb/the console (a view addon: cors.report may come at any time)."""
    from mitmproxy.addons.view import View

    async def body():
        addon = cors_creds.CorsCreds()
        extra = [View()] if view else []
        with taddons.context(addon, *extra) as tctx:
            if report_file:
                tctx.configure(addon, cors_creds_report=str(tmp_path / "r.json"))
            addon.running()
            run(addon, hidden_flow())
            assert len(addon.report.entries()) == (1 if kept else 0)
            assert addon.report.counts["hidden"] == 1
            if not report_file and not view:  # asking for a report later turns them on
                tctx.configure(addon, cors_creds_report=str(tmp_path / "r.json"))
                run(addon, hidden_flow())
                assert len(addon.report.entries()) == 1
            addon.done()

    asyncio.run(body())


def test_rate_limited_log(caplog):
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        caplog.set_level(logging.INFO)
        for _ in range(25):
            run(addon, hidden_flow())
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[cors]")]
    full = [m for m in lines if "CORS InvalidAllowCredentials:" in m]
    counts = [m for m in lines if m.startswith("[cors] ×")]
    assert len(full) == 3
    assert counts == [f"[cors] ×10 InvalidAllowCredentials for http://127.0.0.1:9000/data from "
                      f"{PAGE} (repeats not logged; see the summary)"]


def test_shutdown_summary(caplog):
    addon = cors_creds.CorsCreds()
    with taddons.context(addon):
        caplog.set_level(logging.INFO)
        run(addon, hidden_flow())
        addon.done()
    msgs = [r.getMessage() for r in caplog.records]
    assert ("[cors] summary: 1 CORS flows, 1 hidden from JavaScript (1 credentialed); "
            "correlation state 0 entries (cap 4096)") in msgs
    assert f"[cors] page {PAGE}:" in msgs
    assert "[cors] clients: unknown 1 CORS flows, 1 hidden" in msgs  # grouped per engine
    assert any("InvalidAllowCredentials ×1 (unknown 1)  e.g. http://127.0.0.1:9000/data" in m
               for m in msgs)


@pytest.mark.parametrize("opts,match", [
    ({"cors_creds_report": "/tmp/report.txt"}, "cors_creds_report"),
    ({"cors_creds_fail_exit": 300}, "cors_creds_fail_exit"),
    ({"cors_creds_log_repeats": -1}, "cors_creds_log_repeats"),
    ({"cors_creds_fail_on": "sometimes"}, "sometimes"),
])
def test_bad_option_values(opts, match):
    addon = cors_creds.CorsCreds()
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match=match):
            tctx.configure(addon, **opts)


def _capture(tmp_path, hidden_credentialed=True):
    common = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    entries = [har_entry("GET", "http://127.0.0.2:9000/fine", common, 200,
                         [("Access-Control-Allow-Origin", "*")])]
    if hidden_credentialed:
        entries.append(har_entry("GET", "http://127.0.0.2:9000/me", common + [("Cookie", "s=1")],
                                 200, [("Access-Control-Allow-Origin", "*")]))
    else:  # hidden, but not credentialed
        entries.append(har_entry("GET", "http://127.0.0.2:9000/x", common, 200, []))
    har = str(tmp_path / "c.har")
    write_har(har, entries)
    return har


@pytest.mark.e2e
@pytest.mark.parametrize("credentialed,fail_on,rc", [
    (True, "credentialed", 3), (False, "credentialed", 0), (False, "hidden", 3),
])
def test_ci_exit_code(tmp_path, credentialed, fail_on, rc):
    har = _capture(tmp_path, credentialed)
    out, hardump = str(tmp_path / "out.mitm"), str(tmp_path / "out.har")
    got, output = run_offline(har, out, "--set", "cors_creds_fail_exit=3",
                              "--set", f"cors_creds_fail_on={fail_on}",
                              "--set", f"hardump={hardump}")
    assert got == rc, output
    assert len(read_flows(out)) == 2  # -w is complete
    assert len(json.load(open(hardump))["log"]["entries"]) == 2  # so is the HAR dump
    assert "[cors] summary: 2 CORS flows" in output


@pytest.mark.e2e
def test_report_option_end_to_end(tmp_path):
    har = _capture(tmp_path)
    report = str(tmp_path / "r.json")
    rc, output = run_offline(har, str(tmp_path / "o.mitm"), "--set", f"cors_creds_report={report}")
    assert rc == 0, output
    data = json.load(open(report))
    assert data["counts"]["hidden_credentialed"] == 1


@pytest.mark.e2e
def test_bad_option_stops_mitmdump(tmp_path):
    har = _capture(tmp_path)
    rc, output = run_offline(har, str(tmp_path / "o.mitm"), "--set", "cors_creds_marker=nope")
    assert rc != 0
    assert "cors_creds_marker" in output

