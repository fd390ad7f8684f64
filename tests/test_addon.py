"""The mitmproxy adapter through mitmproxy's own test helpers."""

import copy

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow, tutils

import cors_creds
from conftest import ADDON

PAGE = "http://127.0.0.1:8000"


def cors_flow(method="GET", url="http://127.0.0.1:9000/data", req=(), status=200, resp=(),
              origin=PAGE, ts=None):
    f = tflow.tflow(resp=True)
    f.request = tutils.treq(method=method.encode(), headers=())
    f.request.url = url
    if origin:
        f.request.headers["Origin"] = origin
    f.request.headers["Sec-Fetch-Mode"] = "cors"
    for k, v in req:
        f.request.headers.add(k, v)
    f.response = tutils.tresp(status_code=status, headers=())
    for k, v in resp:
        f.response.headers.add(k, v)
    if ts is not None:
        f.request.timestamp_start = ts
    return f


def run(addon, f):
    addon.request(f)
    addon.response(f)
    return f


@pytest.fixture
def addon():
    return cors_creds.CorsCreds()


def test_hidden_flow_is_marked_commented_and_described(addon):
    with taddons.context(addon):
        f = run(addon, cors_flow(req=[("Cookie", "sid=TOPSECRET")],
                                 resp=[("Access-Control-Allow-Origin", PAGE)]))
    assert f.marked == ":no_entry:"
    assert f.comment.startswith("CORS InvalidAllowCredentials: credentialed request (cookie sid)")
    assert 'on this response: "Access-Control-Allow-Credentials: true"' in f.comment
    md = f.metadata["cors_creds"]
    assert md["verdict"] == "hidden" and md["reason"] == "InvalidAllowCredentials"
    assert md["role"] == "actual" and md["credentials"] == ["cookie sid"]
    assert "TOPSECRET" not in repr(md) + f.comment


def test_fine_flow_has_metadata_only(addon):
    with taddons.context(addon):
        f = run(addon, cors_flow(req=[("Cookie", "sid=1")],
                                 resp=[("Access-Control-Allow-Origin", PAGE),
                                       ("Access-Control-Allow-Credentials", "true")]))
    assert f.marked == "" and f.comment == ""
    assert f.metadata["cors_creds"]["verdict"] == "exposed"


def test_non_cors_flow_untouched(addon):
    with taddons.context(addon):
        f = run(addon, tflow.tflow(resp=True))
    assert f.marked == "" and f.comment == "" and "cors_creds" not in f.metadata


def test_traffic_is_never_changed(addon):
    with taddons.context(addon):
        f = cors_flow(req=[("Cookie", "a=b")], resp=[("Access-Control-Allow-Origin", "*")])
        before = (copy.deepcopy(f.request.get_state()), copy.deepcopy(f.response.get_state()))
        run(addon, f)
        assert (f.request.get_state(), f.response.get_state()) == before
        assert f.marked


def test_user_comment_is_kept_and_ours_replaced_on_reanalysis(addon):
    with taddons.context(addon):
        f = cors_flow(req=[("Cookie", "a=b")], resp=[("Access-Control-Allow-Origin", "*")])
        f.comment = "my note"
        run(addon, f)
        assert f.comment.startswith("my note | CORS WildcardOriginNotAllowed")
        run(addon, f)  # a replayed or re-read flow is annotated once, not twice
        assert f.comment.count("WildcardOriginNotAllowed") == 1
        f.response.headers["Access-Control-Allow-Origin"] = PAGE
        f.response.headers["Access-Control-Allow-Credentials"] = "true"
        run(addon, f)
        assert f.comment == "my note" and f.marked == ""


def test_a_repeated_call_shares_one_read_only_metadata_dict(addon):
    """The README's contract: the flows of a repeated call (the same findings) get the
    same metadata dict; a user's comment stays on its own flow; a new verdict replaces
    the dict rather than changing it; mitmproxy's own copy of a flow is independent."""
    def call():
        return cors_flow(req=[("Cookie", "sid=1")], resp=[("Access-Control-Allow-Origin", "*")])
    with taddons.context(addon):
        a, b = call(), call()
        b.comment = "my note"
        run(addon, a), run(addon, b)
        shared = a.metadata["cors_creds"]
        assert b.metadata["cors_creds"] is shared
        assert a.comment == shared["comment"] and b.comment == f"my note | {shared['comment']}"
        then = copy.deepcopy(shared)
        b.response.headers["Access-Control-Allow-Origin"] = PAGE
        b.response.headers["Access-Control-Allow-Credentials"] = "true"
        run(addon, b)
        assert b.metadata["cors_creds"]["verdict"] == "exposed" and b.comment == "my note"
        assert a.metadata["cors_creds"] is shared and shared == then and a.marked
        c = a.copy()
        c.metadata["cors_creds"]["verdict"] = "changed by a script"
        assert shared == then


def test_marker_option(addon):
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_marker=":warning:")
        f = run(addon, cors_flow(req=[("Cookie", "a=b")], resp=[]))
        assert f.marked == ":warning:"
        tctx.configure(addon, cors_creds_marker="")
        g = run(addon, cors_flow(req=[("Cookie", "a=b")], resp=[]))
        assert g.marked == "" and g.comment


@pytest.mark.parametrize("opts,match", [
    ({"cors_creds_marker": "not-an-emoji"}, "cors_creds_marker"),
    ({"cors_creds_filter": "~q ~~~("}, "cors_creds_filter"),
    ({"cors_creds_preflight_wait": -1}, "preflight_wait"),
    ({"cors_creds_max_entries": 0}, "max_entries"),
])
def test_bad_options(addon, opts, match):
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match=match):
            tctx.configure(addon, **opts)


def test_filter_limits_analysis(addon):
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_filter="~d 127.0.0.2")
        f = run(addon, cors_flow(req=[("Cookie", "a=b")], resp=[]))
        assert "cors_creds" not in f.metadata
        g = run(addon, cors_flow(url="http://127.0.0.2:9000/x", req=[("Cookie", "a=b")], resp=[]))
        assert g.metadata["cors_creds"]["verdict"] == "hidden"


def test_log_is_warning_never_error(addon, caplog):
    with taddons.context(addon):
        caplog.set_level("DEBUG")
        run(addon, cors_flow(req=[("Cookie", "sid=SECRETVALUE")], resp=[]))
    recs = [r for r in caplog.records if "[cors]" in r.getMessage()]
    assert recs and all(r.levelname == "WARNING" for r in recs)
    assert "MissingAllowOriginHeader" in recs[0].getMessage()
    assert all("SECRETVALUE" not in r.getMessage() for r in caplog.records)


def add_raw(headers, name, value):
    headers.fields = headers.fields + ((name, value),)


@pytest.mark.parametrize("mutate", [
    lambda f: add_raw(f.request.headers, b"Origin", b"\xff\xfe"),
    lambda f: setattr(f.request.headers, "fields", ((b"origin", b"http://127.0.0.1:8000"),
                                                    (b"origin", b"http://x"))),
    lambda f: add_raw(f.response.headers, b"Access-Control-Allow-Origin", b"\x80"),
    lambda f: add_raw(f.request.headers, b"Cookie", b"\xc3\x28=\xff"),
    lambda f: add_raw(f.response.headers, b"", b""),
    lambda f: setattr(f.request, "url", "http://127.0.0.1:9000/%zz?%%"),
    lambda f: setattr(f, "response", None),
    lambda f: setattr(f.request, "http_version", "HTTP/2.0"),
    lambda f: setattr(f.request, "timestamp_start", None),
])
def test_bad_input_never_raises(addon, mutate, caplog):
    with taddons.context(addon):
        f = cors_flow(req=[("Cookie", "a=b")], resp=[])
        mutate(f)
        run(addon, f)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not [r for r in caplog.records if "internal error" in r.getMessage()]


def test_error_flow_without_response(addon):
    with taddons.context(addon):
        f = tflow.tflow(err=True)
        f.request.headers["Origin"] = PAGE
        addon.request(f)
        addon.response(f)
        assert "cors_creds" not in f.metadata


def refused_preflight(body: bytes, ctype: str | None = "text/plain", encoding=None):
    f = cors_flow("OPTIONS", url="http://127.0.0.1:9000/data?key=QUERYSECRET",
                  req=[("Access-Control-Request-Method", "PUT"), ("Cookie", "sid=COOKIESECRET")],
                  status=403, resp=[("Content-Type", ctype)] if ctype else [])
    f.response.content = body
    if encoding:
        f.response.encode(encoding)
    return f


@pytest.mark.parametrize("body,ctype,encoding,said", [
    (b"CORS preflight request failed: headers are not allowed: X-A\nmore", "text/plain", None,
     "CORS preflight request failed: headers are not allowed: X-A"),
    (b"Disallowed CORS origin", None, "gzip", "Disallowed CORS origin"),  # decoded
    (b"no: QUERYSECRET COOKIESECRET", "text/plain", None, "no: … …"),  # the request's secrets
    (b"<html><body>Forbidden</body></html>", "text/html", None, None),  # only plain text
    (b"x" * 5000, "text/plain", None, None),  # only a short body
    (b"", "text/plain", None, None),
])
def test_a_refused_preflight_quotes_the_servers_first_line(addon, body, ctype, encoding, said):
    with taddons.context(addon):
        f = run(addon, refused_preflight(body, ctype, encoding))
    remedy = f.metadata["cors_creds"]["remedy"]
    assert remedy.get("server_says") == said
    assert "SECRET" not in repr(f.metadata["cors_creds"]) and "SECRET" not in f.comment


def credentials_only_preflight():
    """A preflight that passes unless the page asked for credentials (no ACAC)."""
    return cors_flow("OPTIONS", req=[("Access-Control-Request-Method", "PUT")], status=204,
                     resp=[("Access-Control-Allow-Origin", PAGE),
                           ("Access-Control-Allow-Methods", "PUT")], ts=100.0)


def test_pending_preflight_settles_when_actual_arrives(addon):
    with taddons.context(addon):
        pf = credentials_only_preflight()
        run(addon, pf)
        assert pf.metadata["cors_creds"]["related"]["awaiting_actual"] is True
        assert addon.analyzer.is_open(pf.id) and not pf.marked
        actual = cors_flow("PUT", resp=[("Access-Control-Allow-Origin", PAGE)], ts=100.1)
        run(addon, actual)
        assert not addon.analyzer.is_open(pf.id)
        assert pf.metadata["cors_creds"]["related"]["actual_followed"] is True
        assert not pf.marked


class UpdateSpy:
    """Records every update event: the flows of each, in order."""

    def __init__(self):
        self.events = []

    def update(self, flows):
        self.events.append([f.id for f in flows])


def test_each_settled_flow_is_announced_once_when_it_settles(addon, caplog):
    """A verdict settled after its flow was answered: the flow is annotated again, one
    update event announces it, the report counts its final verdict and the log says it."""
    caplog.set_level("INFO")
    spy = UpdateSpy()
    with taddons.context(addon, spy) as tctx:
        tctx.configure(addon, cors_creds_log_repeats=0)
        pfs = []
        for i in range(3):
            pf = credentials_only_preflight()
            pf.request.url = f"http://127.0.0.1:9000/data{i}"
            pf.request.timestamp_start = 100.0 + i
            pfs.append(run(addon, pf))
        assert spy.events == [] and addon.report.counts["cors_flows"] == 0  # still open
        later = cors_flow(resp=[("Access-Control-Allow-Origin", PAGE)], ts=200.0)
        run(addon, later)  # 100 s later: every preflight expired unfollowed
        assert all(pf.marked == ":no_entry:" for pf in pfs)
        assert spy.events == [[pf.id] for pf in pfs]
        assert addon.report.counts["hidden_credentialed"] == 3
        assert addon.report.counts["cors_flows"] == 4
        logged = [r for r in caplog.records if r.getMessage().startswith("[cors] PUT ")]
        assert len(logged) == 3 and all(r.levelname == "WARNING" for r in logged)
        assert all("PreflightInvalidAllowCredentials" in r.getMessage() for r in logged)
        pf = run(addon, credentials_only_preflight())
        addon.done()  # settles the last one and announces it
        assert spy.events[-1] == [pf.id] and len(spy.events) == 4


def test_update_events_only_when_an_addon_listens(addon):
    """Plain mitmdump has no addon handling update: a settled flow is annotated, counted
    and logged, and no event walks the addon chain for nobody. Once an addon that
    handles update is loaded (mitmweb's view, a script), settled flows are announced."""
    import asyncio

    from mitmproxy import hooks

    async def body():
        with taddons.context(addon) as tctx:
            sent = []
            trigger = tctx.master.addons.trigger
            tctx.master.addons.trigger = lambda event: (
                sent.append(event) if isinstance(event, hooks.UpdateHook) else trigger(event))
            addon.running()
            pf = run(addon, credentials_only_preflight())
            run(addon, cors_flow(resp=[("Access-Control-Allow-Origin", PAGE)], ts=200.0))
            assert pf.marked == ":no_entry:" and sent == []
            assert addon.report.counts["hidden_credentialed"] == 1
            spy = UpdateSpy()
            tctx.master.addons.add(spy)
            tctx.configure(addon, cors_creds_log_repeats=5)  # any option change re-checks
            pf2 = run(addon, credentials_only_preflight())
            run(addon, cors_flow(resp=[("Access-Control-Allow-Origin", PAGE)], ts=300.0))
            assert [[f.id for f in e.flows] for e in sent] == [[pf2.id]]
            addon.done()

    asyncio.run(body())


def test_a_pending_flow_nobody_else_keeps_is_not_held(addon, tmp_path, caplog):
    """Plain mitmdump drops a flow once its hooks ran: a preflight awaiting its actual
    request does not keep its flow alive, and its settled verdict still reaches the log
    and the report, with the flow's time. With an addon handling update, the flow is
    kept (the event needs it)."""
    import asyncio
    import gc
    import json
    import weakref

    caplog.set_level("INFO")
    report = tmp_path / "r.json"

    async def body():
        with taddons.context(addon) as tctx:
            tctx.configure(addon, cors_creds_report=str(report), cors_creds_log_repeats=0)
            addon.running()
            pf = run(addon, credentials_only_preflight())
            pf_id, gone = pf.id, weakref.ref(pf)
            del pf
            gc.collect()
            assert gone() is None and addon.analyzer.is_open(pf_id)
            run(addon, cors_flow(resp=[("Access-Control-Allow-Origin", PAGE)], ts=200.0))
            assert not addon.analyzer.is_open(pf_id)
            assert addon.report.counts["hidden_credentialed"] == 1
            spy = UpdateSpy()
            tctx.master.addons.add(spy)
            tctx.configure(addon, cors_creds_log_repeats=1)  # any option change re-checks
            kept = weakref.ref(run(addon, credentials_only_preflight()))
            gc.collect()
            flow = kept()  # the addon kept it
            assert flow is not None
            addon.done()
            assert spy.events == [[flow.id]] and flow.marked == ":no_entry:"
            entries = {e["flow"]: e for e in json.loads(report.read_text())["flows"]}
            assert entries[pf_id]["timestamp"] == 100.0 and entries[pf_id]["verdict"] == "hidden"

    asyncio.run(body())
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[cors] PUT ")]
    assert len(logged) == 2 and all("PreflightInvalidAllowCredentials" in m for m in logged)


def test_timer_settles_a_lone_preflight_and_announces_it(addon):
    """Live, no later flow comes: the 0.25 s timer ends the wait and sends the update."""
    import asyncio
    import time

    spy = UpdateSpy()

    async def body():
        with taddons.context(addon, spy) as tctx:
            tctx.configure(addon, cors_creds_preflight_wait=50)
            addon.running()
            pf = credentials_only_preflight()
            pf.request.timestamp_start = time.time()  # a live flow
            run(addon, pf)
            assert spy.events == [] and addon.analyzer.is_open(pf.id)
            for _ in range(40):  # at most 2 s
                await asyncio.sleep(0.05)
                if spy.events:
                    break
            assert spy.events == [[pf.id]]
            assert pf.marked == ":no_entry:" and not addon.analyzer.is_open(pf.id)
            addon.done()

    asyncio.run(body())


def test_pending_preflight_without_actual_is_marked_at_done(addon):
    with taddons.context(addon):
        pf = credentials_only_preflight()
        run(addon, pf)
        addon.done()
        assert pf.marked == ":no_entry:"
        md = pf.metadata["cors_creds"]
        assert md["reason"] == "PreflightInvalidAllowCredentials" and md["confidence"] == "inferred"
        assert "will not send the PUT" in pf.comment


def test_save_hook_is_wrapped_only_while_a_stream_file_is_written(tmp_path):
    """Holding back -w writes of open preflights needs a wrapper around Save's response
    hook; without a stream file it would only cost every flow a call, so it is there
    exactly while save_stream_file is set, and a held preflight is still written."""
    import asyncio

    from mitmproxy import io
    from mitmproxy.addons.save import Save

    async def body():
        save, addon = Save(), cors_creds.CorsCreds()
        with taddons.context(save, addon) as tctx:
            addon.running()
            assert addon.deferral is None and "response" not in save.__dict__
            path = tmp_path / "out.mitm"
            for stream, wrapped in ((str(path), True), (None, False), (str(path), True)):
                tctx.configure(save, save_stream_file=stream)
                addon.configure({"save_stream_file"})
                assert (addon.deferral is not None) == wrapped == ("response" in save.__dict__)
            pf = cors_flow("OPTIONS", req=[("Access-Control-Request-Method", "PUT")],
                           status=204, resp=[("Access-Control-Allow-Origin", PAGE),
                                             ("Access-Control-Allow-Methods", "PUT")])
            save.request(pf)
            addon.request(pf)
            addon.response(pf)
            save.response(pf)  # the verdict is open: not written yet
            assert pf.id in addon.deferral.held
            addon.done()  # settled at shutdown, then written by Save's own done
            save.done()
            with open(path, "rb") as fh:
                (written,) = list(io.FlowReader(fh).stream())
            assert written.metadata["cors_creds"]["related"]["actual_followed"] is False

    asyncio.run(body())


def test_script_loads_through_mitmproxy(tmp_path):
    with taddons.context() as tctx:
        mod = tctx.script(ADDON)
        a = mod.addons[0]
        f = run(a, cors_flow(req=[("Cookie", "a=b")], resp=[("Access-Control-Allow-Origin", "*")]))
        assert f.metadata["cors_creds"]["reason"] == "WildcardOriginNotAllowed"


def nav_flow(url, set_cookies=(), cookie=None, ts=1000.0):
    """A top-level navigation (no Origin): the first-party visit that sets cookies."""
    f = tflow.tflow(resp=True)
    f.request = tutils.treq(method=b"GET", headers=())
    f.request.url = url
    f.request.headers["Sec-Fetch-Mode"] = "navigate"
    f.request.headers["Sec-Fetch-Site"] = "none"
    if cookie:
        f.request.headers["Cookie"] = cookie
    f.request.timestamp_start = ts
    f.response = tutils.tresp(status_code=200, headers=())
    for line in set_cookies:
        f.response.headers.add("Set-Cookie", line)
    return f


def test_a_refused_set_cookie_on_a_navigation_is_said_without_a_marker(addon, caplog):
    caplog.set_level("INFO")
    with taddons.context(addon):
        f = run(addon, nav_flow("https://api.example.test/login",
                                ["sid=TOPSECRET; SameSite=None", "ok=1; Secure; SameSite=None"]))
    md = f.metadata["cors_creds"]
    assert md["verdict"] is None and f.marked == ""
    (n,) = md["cookies"]["rejected"]
    assert (n["name"], n["reasons"]) == ("sid", ["SameSiteNoneInsecure"])
    assert "SameSite=None; Secure" in n["fix"]
    assert f.comment.startswith("Cookies: refused sid (SameSiteNoneInsecure) — fix sid: add Secure")
    assert any(r.levelname == "WARNING" and "refused sid" in r.getMessage() for r in caplog.records)
    assert "TOPSECRET" not in repr(md) + f.comment + caplog.text


def test_a_401_behind_a_withheld_cookie_leads_with_the_cookie(addon):
    with taddons.context(addon) as tctx:
        run(addon, nav_flow("https://api.example.test/login", ["sid=S3CRET; SameSite=Lax; Path=/"]))
        f = run(addon, cors_flow(url="https://api.example.test/me", origin="https://app.other.test",
                                 req=[("Cookie", "other=1"), ("Sec-Fetch-Site", "cross-site")],
                                 status=401, resp=[("Access-Control-Allow-Origin", "*")]))
        text = addon.explain_flows([f])
    assert f.comment.startswith("Cookie: the browser did not send cookie sid: SameSite=Lax on "
                                "a cross-site fetch")
    assert " | CORS WildcardOriginNotAllowed" in f.comment  # the CORS reason comes after
    assert "Not really CORS: the browser did not send cookie sid" in text
    assert "Third-party cookies in this client: blocked (assumed" in text
    assert "S3CRET" not in text + f.comment


def test_fail_on_cookies_and_the_report_cookie_table(addon, tmp_path):
    report = tmp_path / "r.md"
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_fail_exit=3, cors_creds_fail_on="cookies")
        run(addon, nav_flow("https://api.example.test/a", ["a=1; Domain=other.test"]))
        assert addon.exit_code() == 3
        addon.write_report(str(report))
        tctx.configure(addon, cors_creds_cookies=False)  # a new analyzer, cookies not followed
        f = run(addon, nav_flow("https://api.example.test/b", ["b=1; Domain=other.test"]))
        assert "cors_creds" not in f.metadata
    text = report.read_text()
    assert "## Cookies" in text and "| https://api.example.test/a | a | refused | InvalidDomain |" in text


# -- the opt-in probe (its requests are recorded here, never sent: tests/test_security.py
#    sends them to real servers)

REFLECT = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
           ("Vary", "Origin")]


def _recording(monkeypatch, tctx):
    sent = []
    monkeypatch.setattr(tctx.master.commands, "call",
                        lambda name, *args: sent.append((name, *args)))
    return sent


def test_probe_off_by_default_queues_nothing(addon, monkeypatch):
    with taddons.context(addon) as tctx:
        sent = _recording(monkeypatch, tctx)
        f = cors_flow(req=[("Cookie", "sid=SECRET-P")], resp=REFLECT)
        f.live = True
        run(addon, f)
        assert not addon.probing and not addon._probe_queue and sent == []


def test_probe_on_queues_forged_origins_once_per_endpoint_and_rate_limits(addon, monkeypatch):
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_probe=True)
        sent = _recording(monkeypatch, tctx)
        flows = []
        for _ in range(3):
            f = cors_flow(req=[("Cookie", "sid=SECRET-P")], resp=REFLECT)
            f.live = True
            flows.append(run(addon, f))
        f = flows[0]  # the flow the probes are for
        # one endpoint, probed once: four forged origins (an http page, an IP API: no http
        # variant, no subdomain of the API's site)
        assert len(addon._probe_queue) == 4
        g = cors_flow(url="http://127.0.0.1:9000/other", req=[("Cookie", "sid=SECRET-P")],
                      resp=REFLECT)
        g.live = True
        run(addon, g)
        assert len(addon._probe_queue) == 8
        addon._send_probes()
        assert [name for name, *_ in sent] == ["replay.client"]
        batch = sent[0][1]
        assert len(batch) == 4 and len(addon._probe_queue) == 4  # at most PROBE_RATE at once
        assert {p.request.headers["Origin"] for p in batch} == {
            "https://cors-creds-probe.example", "null", "http://corscredsprobe127.0.0.1:8000",
            "http://127.0.0.1:8000.cors-creds-probe.example"}
        assert all(p.request.method == "GET" and p.metadata["cors_creds_probe"]["for"] == f.id
                   and p.request.headers["Cookie"] == "sid=SECRET-P" for p in batch)
        addon._send_probes()
        assert len(sent) == 1  # no token left until the clock ticks
        # a probe flow's answer is kept out of the analysis and goes to its run
        before = addon.report.counts["cors_flows"]
        for p in batch:
            p.response = tutils.tresp(status_code=200, headers=())
            for k, v in REFLECT:
                p.response.headers.add(k, v if k != "Access-Control-Allow-Origin"
                                       else p.request.headers["Origin"])
            addon.response(p)
        assert addon.report.counts["cors_flows"] == before


def test_probe_command_sends_a_preflight_for_other_methods(addon, monkeypatch):
    with taddons.context(addon) as tctx:
        sent = _recording(monkeypatch, tctx)
        f = cors_flow("PUT", req=[("Cookie", "sid=SECRET-P"), ("Content-Type", "application/json"),
                                  ("X-Token", "t")], resp=REFLECT)
        f.request.content = b'{"delete": "everything"}'
        run(addon, f)
        assert addon.probe_flows([f]) == 1  # the command probes, whatever the option says
        (_, batch), = sent
        for p in batch:
            assert p.request.method == "OPTIONS" and p.request.content == b""
            assert "cookie" not in p.request.headers
            assert p.request.headers["Access-Control-Request-Method"] == "PUT"
            assert p.request.headers["Access-Control-Request-Headers"] == "content-type,x-token"
            assert p.comment.startswith("cors-creds probe (")
        assert f.request.method == "PUT" and f.request.headers["Origin"] == PAGE  # untouched


def test_fail_on_security_counts_high_and_medium_findings(addon):
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_fail_exit=3, cors_creds_fail_on="security")
        run(addon, cors_flow(resp=[("Access-Control-Allow-Origin", "*"),
                                   ("Access-Control-Allow-Credentials", "true")]))
        assert addon.exit_code() == 0  # wildcard-with-credentials is low
        f = run(addon, cors_flow(origin="null", req=[("Cookie", "sid=SECRET-N")],
                                 resp=[("Access-Control-Allow-Origin", "null"),
                                       ("Access-Control-Allow-Credentials", "true")]))
        assert f.metadata["cors_creds"]["security"][0]["issue"] == "null-trusted"
        assert "CORS security (high): null-trusted" in f.comment and not f.marked
        assert addon.exit_code() == 3


def test_probe_respects_the_filter(addon, monkeypatch):
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_creds_probe=True, cors_creds_filter="~d example.test")
        sent = _recording(monkeypatch, tctx)
        f = cors_flow(req=[("Cookie", "sid=SECRET-P")], resp=REFLECT)
        f.live = True
        run(addon, f)
        assert addon.probe_flows([f]) == 0 and not addon._probe_queue and sent == []
