"""Property tests: random header sets, orders, duplicates, casing, non-UTF-8 bytes and
huge values. The hooks never raise, verdicts are deterministic, the traffic is never
mutated, the flow reader gives the core exactly what the whole flow holds, the memo
never changes an output, and no secret reaches any output."""

from __future__ import annotations

import copy
import logging

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mitmproxy.test import taddons, tflow, tutils
from mitmproxy.websocket import WebSocketData

import cors_creds
import cors_flow
from corscore import Analyzer, Exchange, analyzer
from corscore import render as render_module
from corscore.checks import judge_preflight
from corscore.http import redact_url
from corscore.render import log_line, render
from corscore.report import Report

NAMES = [
    b"Origin", b"Sec-Fetch-Mode", b"Cookie", b"Authorization", b"Access-Control-Request-Method",
    b"Access-Control-Request-Headers", b"Access-Control-Allow-Origin",
    b"Access-Control-Allow-Credentials", b"Access-Control-Allow-Methods",
    b"Access-Control-Allow-Headers", b"Access-Control-Expose-Headers", b"Access-Control-Max-Age",
    b"Location", b"Upgrade", b"Sec-Fetch-Dest", b"Accept", b"X-Custom",
    b"Access-Control-Request-Private-Network", b"Upgrade-Insecure-Requests", b"User-Agent",
    b"Content-Type", b"Set-Cookie", b"Access-Control-Allow-Private-Network", b"Referer",
    b"Sec-Fetch-Site",
]
ORIGINS = [b"http://127.0.0.1:8000", b"null", b"*", b"http://127.0.0.2:9000", b"", b"true",
           b"HTTP://127.0.0.1:8000", b"http://127.0.0.1:8000/"]

casing = st.sampled_from([bytes.lower, bytes.upper, lambda b: b])
name_st = st.one_of(
    st.builds(lambda n, c: c(n), st.sampled_from(NAMES), casing),
    st.binary(min_size=1, max_size=12).filter(lambda b: b":" not in b and b"\n" not in b),
)
value_st = st.one_of(
    st.sampled_from(ORIGINS + [b"cors", b"no-cors", b"PUT", b"patch", b"x-a, x-b", b"x y",
                               b" true ", b"TRUE", b"/next", b"http://u:p@127.0.0.1:9000/"]),
    st.binary(max_size=40),
    st.builds(lambda n: b"a" * n, st.integers(0, 70_000)),
    st.sampled_from([b"sid=v; SameSite=None", b"sid=v; Secure; SameSite=None; Partitioned",
                     b"__Host-a=1; Path=/; Secure", b"a=1; Domain=127.0.0.1", b"sid=; Max-Age=0",
                     b"sid=v; Path=/a; Expires=Wed, 21 Oct 2015 07:28:00 GMT", b"sid=v; Lax",
                     b"sid=v; SameSite=Strict", b"navigate", b"cross-site", b"same-site"]),
)
headers_st = st.lists(st.tuples(name_st, value_st), max_size=12)
method_st = st.sampled_from(["GET", "PUT", "OPTIONS", "POST", "patch", "DELETE", "CONNECT", "get"])
url_st = st.sampled_from([
    "http://127.0.0.1:9000/a", "http://127.0.0.2:9000/b?token=x", "http://127.0.0.1:8000/same",
    "https://example.test/p", "http://[::1]:9/x", "http://127.0.0.1:9000/next",
    "http://127.0.0.1:80/port80", "https://example.test:8443/p", "https://example.test:80/p",
])
status_st = st.one_of(st.none(), st.sampled_from([200, 204, 301, 302, 307, 403, 500]))


def _flow(method, url, req, status, resp, ts=0.0, websocket=False, key=None):
    """A mitmproxy flow holding these raw header fields."""
    f = tflow.tflow(resp=True)
    f.request = tutils.treq(method=method.encode(), headers=())
    f.request.url = url
    f.request.headers.fields = tuple(req)
    f.request.timestamp_start = ts
    if status is None:
        f.response = None
    else:
        f.response = tutils.tresp(status_code=status, headers=())
        f.response.headers.fields = tuple(resp)
    if websocket:
        f.websocket = WebSocketData()
    if key is not None:
        f.id = key
    return f


def _decoded(fields):
    return [(n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in fields]


def _exchange(key, method, url, req, status, resp, ts, websocket, client=""):
    """The Exchange of these fields, every line given to the core (no reader)."""
    return Exchange.of(key=key, method=method.upper(), url=url, request_headers=_decoded(req),
                       status=status, response_headers=None if status is None else _decoded(resp),
                       timestamp=ts, websocket=websocket, client=client)


# A repeat of an endpoint is the common case: a few keys, urls and times.
exchange_st = st.builds(
    _exchange, st.sampled_from("abcd"), method_st, url_st, headers_st, status_st, headers_st,
    st.floats(0, 10_000, allow_nan=False), st.booleans(),
)
flow_st = st.builds(_flow, method_st, url_st, headers_st, status_st, headers_st,
                    st.floats(0, 10_000, allow_nan=False), st.booleans())


def drive(seq, a: Analyzer) -> list:
    out = []
    for ex in seq:
        out += a.request(ex)
        out += a.response(ex)
        out += a.expire(ex.timestamp)
    out += a.flush()
    return [(u.key, render(u.finding, "!", u.cookies, u.security)) for u in out]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchange_st, max_size=8))
def test_core_never_raises_and_is_deterministic(seq):
    first = drive(seq, Analyzer(max_entries=4))
    assert drive(seq, Analyzer(max_entries=4)) == first
    for _, md in first:
        assert md["verdict"] in ("hidden", "exposed", None)  # None: cookie findings only
        assert md["verdict"] is not None or md["cookies"]
        assert (md["reason"] is not None) == (md["verdict"] == "hidden")
        line = log_line(md)
        assert md["comment"].isprintable() and line.isprintable()  # one line, no controls
        assert len(md["comment"]) < 4000 and len(line) < 5000
        for step in (md.get("remedy") or {}).get("steps", ()):  # never an unsafe line
            lines = [x.lower() for x in step["set"]]
            assert "access-control-allow-origin: null" not in lines, md
            if "access-control-allow-origin: *" in lines:
                assert "if" not in step and md["credentials_mode"] != "include", md
                assert "access-control-allow-credentials: true" not in lines, md


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchange_st, max_size=10))
def test_the_memo_never_changes_an_output(seq):
    """The judgements, remedies, texts and renderings are memoized (lru_cache on their
    own arguments): every output of a sequence, repeated, is what it gives with the plain
    functions."""
    memos = {(module, name): getattr(module, name) for module, name in
             ((analyzer, "judge_preflight"), (analyzer, "judge_actual"),
              (analyzer, "judge_preflight_response"),
              (analyzer, "for_preflight"), (analyzer, "for_response"),
              (render_module, "texts"), (render_module, "_rendered"))}
    for memo in memos.values():
        memo.cache_clear()
    memoized = drive(seq + seq, Analyzer(max_entries=8))
    try:
        for (module, name), memo in memos.items():
            setattr(module, name, memo.__wrapped__)
        plain = drive(seq + seq, Analyzer(max_entries=8))
    finally:
        for (module, name), memo in memos.items():
            setattr(module, name, memo)
    assert plain == memoized


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_st, st.booleans(), st.booleans(), st.booleans())
def test_the_flow_reader_gives_the_core_what_the_whole_flow_holds(flow, response, cookies,
                                                                   every):
    """cors_flow decodes only the headers the core reads (and the response header names):
    the Exchange equals the one built from every line of the flow, or is None exactly when
    nobody needs it: no Origin header, and (following cookies) no Cookie or Set-Cookie
    header, unless every flow is wanted."""
    ex = cors_flow.read(flow, response=response, cookies=cookies, every=lambda: every)
    req = flow.request
    resp = flow.response if response else None
    wanted = {b"origin"} | ({b"cookie"} if cookies else set())
    needed = any(n.lower() in wanted for n, _ in req.headers.fields) or every or (
        cookies and resp is not None and any(n.lower() == b"set-cookie"
                                             for n, _ in resp.headers.fields))
    if not needed:
        assert ex is None
        return
    full = _exchange(flow.id, req.method, req.url, req.headers.fields,
                     resp.status_code if resp is not None else None,
                     resp.headers.fields if resp is not None else (),
                     req.timestamp_start, flow.websocket is not None,
                     str(flow.client_conn.peername[0]))
    assert ex._replace(body=None) == full  # (a refused preflight's body: test_addon)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=&%?x\u00e9", max_size=20))
def test_redact_url_replaces_every_query_value(query):
    """Each "name=value" becomes "name=…", a bare name stays."""
    want = "&".join(p.partition("=")[0] + "=…" if "=" in p else p for p in query.split("&"))
    assert redact_url("http://h:1/p?" + query) == ("http://h:1/p?" + want if query else "http://h:1/p")


def test_hooks_never_raise_never_touch_traffic_and_never_change_metadata_once_written():
    """Through the hooks, with the raw header fields mitmproxy holds: no exception, no
    ERROR log, the traffic unchanged, and no metadata changed in place once written on a
    flow (the flows of a repeated call share one rendered dict: a change would reach them
    all; a new verdict replaces the dict). One mitmproxy context for all examples (each
    taddons.context leaves a log handler behind)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger().addHandler(handler)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(flow_st, min_size=1, max_size=5))
    def check(flows):
        addon = cors_creds.CorsCreds()  # the context's instance holds the options
        flows = flows + [copy.deepcopy(f) for f in flows]  # repeats: the memoized path
        written = []  # each metadata dict written, and a copy of it as it was then
        for f in flows:
            before = (copy.deepcopy(f.request.get_state()),
                      copy.deepcopy(f.response.get_state()) if f.response else None)
            addon.request(f)
            addon.response(f)
            after = (f.request.get_state(), f.response.get_state() if f.response else None)
            assert after == before
            for g in flows:
                meta = g.metadata.get("cors_creds")
                if meta is not None and not any(meta is m for m, _ in written):
                    written.append((meta, copy.deepcopy(meta)))
        addon.done()
        for meta, then in written:
            assert meta == then

    try:
        with taddons.context(cors_creds.CorsCreds()):
            check()
    finally:
        logging.getLogger().removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.ERROR]
    assert not [r for r in records if "internal error" in r.getMessage()]


secret_st = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=12, max_size=24)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret_st, secret_st, secret_st, st.sampled_from(["Bearer", "Basic", "Digest", ""]),
       st.sampled_from([[], [(b"Access-Control-Allow-Origin", b"*")],
                        [(b"Access-Control-Allow-Origin", b"http://127.0.0.1:8000")]]))
def test_no_secret_reaches_any_output(cookie, token, query, scheme, resp):
    secrets = (cookie, token, query)
    assume(not any(a in b for i, a in enumerate(secrets) for j, b in enumerate(secrets)
                   if i != j))
    req = [(b"Origin", b"http://127.0.0.1:8000"), (b"Sec-Fetch-Mode", b"cors"),
           (b"Cookie", f"sid={cookie}; other={cookie}x".encode()),
           (b"Authorization", f"{scheme} {token}".strip().encode()),
           (b"Referer", f"http://127.0.0.1:8000/p?t={token}".encode())]
    url = f"http://127.0.0.2:9000/api?access_token={query}&x=1"
    setting = [(b"Set-Cookie", f"sid={cookie}; SameSite=None".encode()),
               (b"Set-Cookie", f"lax={token}; SameSite=Lax; Path=/api".encode()),
               (b"Set-Cookie", f"{'x' * 4000}={cookie}{'y' * 100}".encode())]
    flows = [
        _flow("GET", "http://127.0.0.2:9000/login", [(b"Sec-Fetch-Mode", b"navigate")], 200,
              setting, 0.5),
        _flow("GET", url, req, 200, resp, 1.0),
        _flow("GET", url, req, 302,
              resp + [(b"Location", f"http://u:{token}@127.0.0.2:9000/n".encode())], 2.0),
        _flow("OPTIONS", url, req[:2] + [(b"Access-Control-Request-Method", b"PUT")], 204,
              resp, 3.0),
        _flow("OPTIONS", url, req + [(b"Access-Control-Request-Method", b"PUT")], 401,
              resp, 4.0),
    ]
    # a refused preflight whose body echoes the request's secrets (quoted, scrubbed)
    flows[3].response.content = f"denied {query} {token} {cookie}\n".encode()
    a = Analyzer()
    report = Report()
    texts = []
    for f in flows:
        ex = cors_flow.read(f, cookies=True, every=a.knows_cookies)
        if f is not flows[2]:  # (its Location holds the token as userinfo: redacted later)
            assert cookie not in repr(ex) and token not in repr(ex)  # the core never holds them
        for u in a.request(ex) + a.response(ex, f) + a.flush():
            md = render(u.finding, "!", u.cookies)
            report.add(u.key, md)
            texts += [log_line(md), repr(md)]
    texts += [report.to_json(), report.to_markdown(), report.to_html(),
              "\n".join(report.summary_lines())]
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob
