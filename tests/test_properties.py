"""Property tests: random header sets, orders, duplicates, casing, non-UTF-8 bytes and
huge values. The hooks never raise, verdicts are deterministic, the traffic is never
mutated, and no secret reaches any output."""

from __future__ import annotations

import copy
import logging

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mitmproxy.test import taddons, tflow, tutils
from mitmproxy.websocket import WebSocketData

import cors_creds
from cors_capture import exchange_of, has_origin, method_of, origin_header, url_of
from corscore import Analyzer, Exchange, make_headers, redact_url
from corscore.analyzer import MEMO, exchange_signature
from corscore.http import (
    REQUEST_HEADERS_READ,
    RESPONSE_ALL_IF,
    RESPONSE_HEADERS_READ,
    _origin_of,
    get_normalized,
    normalized_index,
    origin_of,
)
from corscore.report import Report

NAMES = [
    b"Origin", b"Sec-Fetch-Mode", b"Cookie", b"Authorization", b"Access-Control-Request-Method",
    b"Access-Control-Request-Headers", b"Access-Control-Allow-Origin",
    b"Access-Control-Allow-Credentials", b"Access-Control-Allow-Methods",
    b"Access-Control-Allow-Headers", b"Access-Control-Expose-Headers", b"Access-Control-Max-Age",
    b"Location", b"Upgrade", b"Sec-Fetch-Dest", b"Accept", b"X-Custom",
    b"Access-Control-Request-Private-Network", b"Upgrade-Insecure-Requests", b"User-Agent",
    b"Content-Type", b"Set-Cookie", b"Access-Control-Allow-Private-Network",
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
)
headers_st = st.lists(st.tuples(name_st, value_st), max_size=12)
method_st = st.sampled_from(["GET", "PUT", "OPTIONS", "POST", "patch", "DELETE", "CONNECT", "get"])
url_st = st.sampled_from([
    "http://127.0.0.1:9000/a", "http://127.0.0.2:9000/b?token=x", "http://127.0.0.1:8000/same",
    "https://example.test/p", "http://[::1]:9/x", "http://127.0.0.1:9000/next",
])
exchange_st = st.builds(
    lambda k, m, u, rq, st_, rs, ts, ws: Exchange(
        k, m, u, make_headers(rq), st_, None if st_ is None else make_headers(rs), ts, ws),
    st.text(min_size=1, max_size=4), method_st, url_st, headers_st,
    st.one_of(st.none(), st.sampled_from([200, 204, 301, 302, 307, 403, 500])), headers_st,
    st.floats(0, 10_000, allow_nan=False), st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(headers_st, st.sampled_from([bytes, str]))
def test_make_headers_fast_path_equals_general_path(pairs, kind):
    """The proxy's raw fields (a tuple of bytes pairs) take a one-pass fast path; any
    other input the general one: both must give the same headers."""
    if kind is str:
        pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]
    general = make_headers(iter(pairs))
    assert make_headers(tuple(pairs)) == make_headers(list(pairs)) == general
    assert all(n == n.lower() and isinstance(v, str) for n, v in general)


@settings(max_examples=200, deadline=None)
@given(headers_st, st.sampled_from([bytes, str]))
def test_make_headers_keep_equals_filtering_afterwards(pairs, kind):
    """``keep`` gives exactly the full header list filtered by name, in order, on both
    paths; ``all_if`` the whole list when that header is there."""
    if kind is str:
        pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]
    full = make_headers(list(pairs))
    kept = tuple((n, v) for n, v in full if n in REQUEST_HEADERS_READ)
    assert make_headers(tuple(pairs), REQUEST_HEADERS_READ) == kept
    assert make_headers(iter(pairs), REQUEST_HEADERS_READ) == kept
    whole = any(n == RESPONSE_ALL_IF for n, _ in full)
    kept = full if whole else tuple((n, v) for n, v in full if n in RESPONSE_HEADERS_READ)
    for fields in (tuple(pairs), iter(pairs), list(pairs)):
        assert make_headers(fields, RESPONSE_HEADERS_READ, RESPONSE_ALL_IF) == kept


url_part = st.sampled_from(["http", "https", "HTTP", "ws", "ftp", "data", ":", "//", "/", "?",
                             "#", "@", "\\", "u:p", "127.0.0.1", "[::1]", "Example.TEST", ":80",
                             ":443", ":8000", ":99999", ":", "%41", " ", "\t", "a", ".", ""])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(url_part, max_size=10).map("".join), min_size=1, max_size=6),
       st.sampled_from(["", "/", "/p?q=1", "?x/y", "#f/g", "/a@b", "\\c"]))
@example(["http:\t//b", "http:\t"], "")  # no "://" in either (urlsplit drops the tab)
def test_origin_cache_never_changes_an_origin(prefixes, tail):
    """origin_of remembers the origin of each "scheme://authority" prefix it has seen:
    it must answer exactly as the uncached parse does, whatever came before."""
    for p in prefixes:
        for url in (p, p + tail, p + "/" + tail, "http://" + p + tail):
            assert origin_of(url) == _origin_of(url), url


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"http", b"https", b"HTTP", b"ws"]),
       st.sampled_from(["127.0.0.1", "example.test", "::1", "Example.TEST", "", "h\xe9"]),
       st.sampled_from([80, 443, 8000, 1, 65535]),
       st.one_of(st.sampled_from([b"/", b"*", b"", b"/a?b=c#d", b"/\xff\xfe", b"/%20"]),
                 st.binary(max_size=20)),
       st.sampled_from([b"GET", b"CONNECT", b"connect", b"OPTIONS"]))
def test_url_of_is_exactly_the_request_url(scheme, host, port, path, method):
    """The adapter builds URLs with a per-server prefix cache: always what
    mitmproxy's own ``Request.url`` says, on both supported versions."""
    for _ in range(2):  # the second time from the cache
        req = tutils.treq()
        req.data.scheme, req.data.host, req.data.port = scheme, host, port
        req.data.path, req.data.method = path, method
        assert url_of(req) == req.url


@settings(max_examples=300, deadline=None)
@given(headers_st)
def test_normalized_index_is_get_normalized_for_every_name(pairs):
    """The index (built once per exchange, in one pass when no name repeats) answers
    exactly as Chromium's GetNormalizedHeader does, and keeps the header order."""
    headers = make_headers(pairs)
    index = normalized_index(headers)
    assert list(index) == list(dict.fromkeys(n for n, _ in headers))
    for name in index:
        assert index[name] == get_normalized(headers, name)


def _only_read(ex: Exchange) -> Exchange:
    resp = ex.response_headers
    if resp is not None and not any(n == RESPONSE_ALL_IF for n, _ in resp):
        resp = tuple((n, v) for n, v in resp if n in RESPONSE_HEADERS_READ)
    return Exchange(ex.key, ex.method, ex.url,
                    tuple((n, v) for n, v in ex.request_headers if n in REQUEST_HEADERS_READ),
                    ex.status, resp, ex.timestamp, ex.websocket)


# Exchanges that are CORS more often than not: a cross-origin Origin, then random headers
# from the names above (the ones the core reads among them), random statuses, and URLs a
# redirect or a preflight of another exchange may point at.
PAGE_ORIGIN = [(b"Origin", b"http://127.0.0.1:8000")]
cors_exchange_st = st.builds(
    lambda k, m, u, rq, st_, rs, ts: Exchange(
        k, m, u, make_headers(PAGE_ORIGIN + rq), st_, make_headers(rs), ts),
    st.text(min_size=1, max_size=3), st.sampled_from(["GET", "PUT", "OPTIONS"]),
    st.sampled_from(["http://127.0.0.2:9000/a", "http://127.0.0.1:9000/next"]),
    st.lists(st.tuples(name_st, value_st), max_size=6),
    st.sampled_from([200, 204, 302, 307, 403]),
    st.lists(st.tuples(name_st, value_st), max_size=8),
    st.floats(0, 20, allow_nan=False),
)


preflight_st = st.builds(
    lambda k, rq, st_, rs, ts: Exchange(
        k, "OPTIONS", "http://127.0.0.2:9000/a",
        make_headers(PAGE_ORIGIN + [(b"Access-Control-Request-Method", b"PUT")] + rq), st_,
        make_headers([(b"Access-Control-Allow-Origin", b"http://127.0.0.1:8000")] + rs), ts),
    st.text(min_size=1, max_size=3), st.lists(st.tuples(name_st, value_st), max_size=3),
    st.sampled_from([200, 204, 302, 403]), st.lists(st.tuples(name_st, value_st), max_size=6),
    st.floats(0, 20, allow_nan=False),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(exchange_st, max_size=8),
                 st.lists(st.one_of(cors_exchange_st, preflight_st), max_size=8)))
def test_headers_the_core_does_not_read_never_change_a_finding(seq):
    """The adapter hands the core only the request headers in REQUEST_HEADERS_READ and
    the response headers in RESPONSE_HEADERS_READ (all of them next to an
    Access-Control-Expose-Headers line): every other header must be irrelevant to every
    output."""
    assert drive(seq, Analyzer(max_entries=4)) == drive(
        [_only_read(ex) for ex in seq], Analyzer(max_entries=4))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(preflight_st, cors_exchange_st), min_size=1, max_size=6),
       st.integers(1, 3))
def test_remembered_preflight_verdicts_equal_fresh_ones(seq, repeats):
    """Preflight verdicts are looked up by their inputs when seen before: with repeated
    preflights (an app re-sending them whenever the preflight cache expires) every output
    is what the analyzer computes afresh each time, and no finding shares a check dict
    or a hint with another (each flow's metadata is its own)."""
    seq = [Exchange(f"{ex.key}-{i}", ex.method, ex.url, ex.request_headers, ex.status,
                    ex.response_headers, ex.timestamp + 10 * i)
           for i in range(repeats + 1) for ex in seq]
    fresh = Analyzer(max_entries=4, memo=0)
    remembered = Analyzer(max_entries=4, memo=2)  # small: the memo also fills and clears
    assert drive(seq, remembered) == drive(seq, fresh)
    a = Analyzer(max_entries=4)
    findings = [f for ex in seq for _, f in a.response(
        Exchange(ex.key, ex.method, ex.url, ex.request_headers, ex.status,
                 ex.response_headers, ex.timestamp))]  # kept alive: ids stay unique
    assert_nothing_shared(findings)


def assert_nothing_shared(findings) -> None:
    """No two findings share a check dict, a hint, a hint's fix headers or ``related``
    (each flow's metadata is its own). A finding listed twice (a settled preflight
    comes again) counts once."""
    findings = list({id(f): f for f in findings}.values())
    ids = [id(c) for f in findings for c in f.checks]
    hints = [f.if_credentialed for f in findings if f.if_credentialed]
    ids += [id(h) for h in hints] + [id(h["fix_headers"]) for h in hints]
    ids += [id(f.related) for f in findings]
    assert len(ids) == len(set(ids))


def drive_remembering(seq, a: Analyzer) -> list:
    """As ``drive``, the way the adapter calls the core: the finding of a response looked
    up by its signature when one was remembered."""
    return [(k, f.to_metadata(), f.comment(), f.log_line()) for k, f in _remembering(seq, a)]


def _remembering(seq, a: Analyzer) -> list:
    out = []
    for ex in seq:
        out += a.request(ex)
        sig = got = None
        if ex.status is not None:
            sig = exchange_signature(ex.method, ex.url, ex.request_headers, ex.status,
                                     ex.response_headers, ex.websocket)
        if sig is not None:
            got = a.remembered_response(sig, ex.key, ex.url, ex.timestamp)
        out += got if got is not None else a.response(ex, sig)
        out += a.expire(ex.timestamp)
    return out + a.flush()


def _again(seq, repeats: int) -> list:
    """The sequence, then again ``repeats`` times with new keys, later (a polling app)."""
    return [Exchange(f"{ex.key}-{i}", ex.method, ex.url, ex.request_headers, ex.status,
                     ex.response_headers, ex.timestamp + 10 * i, ex.websocket)
            for i in range(repeats + 1) for ex in seq]


cookie_st = st.lists(st.sampled_from([b"sid=1", b"sid=2", b"a=1; b=2", b"", b"b=3; sid=4"]),
                     max_size=2).map(lambda vs: [(b"Cookie", v) for v in vs])


def _some(name: bytes, *values: bytes):
    """Zero or one header line of this name, from a few values: exchanges drawn from
    such small sets repeat, or differ in one input only, again and again."""
    return st.sampled_from([[]] + [[(name, v)] for v in values])


# One input of an exchange each, with a few values (None: the header is absent).
DIMENSIONS = {
    "method": ["GET", "PUT", "OPTIONS"],
    "url": ["http://127.0.0.2:9000/a", "http://127.0.0.2:9000/a?x=1#f",
            "http://127.0.0.1:9000/next"],
    "status": [200, 204, 302, 403, 500],
    "websocket": [False, True],  # a handshake is never CORS, nor remembered
    "cookies": [[], [(b"Cookie", b"sid=1")], [(b"Cookie", b"sid=2")], [(b"Cookie", b"")],
                [(b"Cookie", b"a=1; b=2")], [(b"Cookie", b"sid=1"), (b"Cookie", b"b=3; sid=4")]],
    **{name: [None, *values] for name, values in (
        (b"Origin", [b"http://127.0.0.1:8000", b"http://127.0.0.2:9000", b"null"]),
        (b"Sec-Fetch-Mode", [b"cors", b"no-cors"]),
        (b"Sec-Fetch-Dest", [b"document", b"empty"]),
        (b"Accept", [b"text/html", b"*/*"]),
        (b"Authorization", [b"Bearer x"]),
        (b"Access-Control-Request-Method", [b"PUT"]),
        (b"Access-Control-Request-Headers", [b"x-a", b"authorization"]),
    )},
    **{(name,): [None, *values] for name, values in (
        (b"Access-Control-Allow-Origin", [b"http://127.0.0.1:8000", b"*", b"null"]),
        (b"Access-Control-Allow-Credentials", [b"true", b"TRUE"]),
        (b"Access-Control-Allow-Methods", [b"PUT"]),
        (b"Access-Control-Allow-Headers", [b"x-a"]),
        (b"Location", [b"/next", b"http://127.0.0.1:9000/next"]),
        (b"Access-Control-Expose-Headers", [b"x-b", b"*"]),
        (b"X-B", [b"1"]),
        (b"X-C", [b"1"]),
    )},
}


def _fields(inputs: dict) -> tuple[list, list]:
    """The raw request (cookies included) and response header lines of these inputs."""
    req = [(n, v) for n, v in inputs.items() if isinstance(n, bytes) and v is not None]
    resp = [(n[0], v) for n, v in inputs.items() if isinstance(n, tuple) and v is not None]
    return req + inputs["cookies"], resp


def _exchange(key: str, ts: float, inputs: dict) -> Exchange:
    req, resp = _fields(inputs)
    return Exchange(key, inputs["method"], inputs["url"], make_headers(req),
                    inputs["status"], make_headers(resp), ts, inputs["websocket"])


# A CORS exchange more often than not: the origin of the page, a cross-origin URL.
base_st = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in DIMENSIONS.items()}).map(
    lambda d: {**d, b"Origin": d[b"Origin"] or b"http://127.0.0.1:8000"})


# A preflight for PUT that announces an Authorization header (for how long it counts:
# the analyzer's state, not the exchange).
ANNOUNCING = {**{k: v[0] for k, v in DIMENSIONS.items()}, "method": "OPTIONS",
              b"Origin": b"http://127.0.0.1:8000", b"Access-Control-Request-Method": b"PUT",
              b"Access-Control-Request-Headers": b"authorization",
              (b"Access-Control-Allow-Origin",): b"http://127.0.0.1:8000"}


def near_repeats(base: dict) -> list[dict]:
    """The exchange, then each exchange that differs from it in one input only (one
    header, the status, the method or the URL), each followed by the first again: every
    pair a signature must tell apart; then the first after a preflight for it that
    announces Authorization."""
    seq = [base]
    for which, values in DIMENSIONS.items():
        for v in values:
            if v != base[which]:
                seq += [{**base, which: v}, base]
    return seq + [{**ANNOUNCING, "url": base["url"], b"Origin": base[b"Origin"]}, base]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(exchange_st, max_size=6),
                 st.lists(st.one_of(cors_exchange_st, preflight_st), max_size=6)),
       st.lists(cookie_st, max_size=6), st.integers(1, 2), st.sampled_from([0, 1, 2, 64]))
def test_remembered_findings_equal_fresh_ones(seq, cookies, repeats, memo):
    """A response's finding (a preflight's too) is looked up by ``exchange_signature`` (its
    inputs) when an earlier response had the same: with repeats, different cookies (values
    and names), preflights and redirects in between, every output is what the analyzer
    computes afresh, and no two findings share a check dict or a hint."""
    seq = [Exchange(ex.key, ex.method, ex.url, ex.request_headers + make_headers(c),
                    ex.status, ex.response_headers, ex.timestamp, ex.websocket)
           for ex, c in zip(seq, cookies + [[]] * len(seq))]
    seq = _again(seq, repeats)
    assert drive_remembering(seq, Analyzer(max_entries=4, memo=memo)) == drive(
        seq, Analyzer(max_entries=4, memo=0))
    assert_nothing_shared([f for _, f in _remembering(seq, Analyzer(max_entries=4, memo=memo))])


# With credentials, Access-Control-Expose-Headers: * leaves every other header hidden:
# the names of all the response's headers count (so such a response has no signature).
CREDENTIALED_STAR_EXPOSE = {
    **{k: v[0] for k, v in DIMENSIONS.items()}, b"Origin": b"http://127.0.0.1:8000",
    b"Sec-Fetch-Mode": b"cors", "cookies": [(b"Cookie", b"sid=1")],
    (b"Access-Control-Allow-Origin",): b"http://127.0.0.1:8000",
    (b"Access-Control-Allow-Credentials",): b"true", (b"Access-Control-Expose-Headers",): b"*",
}
CREDENTIALED = {**CREDENTIALED_STAR_EXPOSE, (b"Access-Control-Expose-Headers",): None}
# Whether a preflight announced the Authorization header, and when (state, again).
AUTHORIZED = {**CREDENTIALED, "method": "PUT", "cookies": [], b"Authorization": b"Bearer x"}
# A 302 at the redirect target, then a redirect there (a hop is expected), then again.
AT_REDIRECT_TARGET = {**CREDENTIALED, "url": "http://127.0.0.1:9000/next", "status": 302}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base_st)
@example(CREDENTIALED_STAR_EXPOSE)
@example(CREDENTIALED)
@example(AUTHORIZED)
@example(AT_REDIRECT_TARGET)
def test_a_signature_tells_apart_exchanges_that_differ_in_one_input(base):
    """Each input the core reads changes the signature, or the finding is the same: after
    an exchange, every exchange that differs from it in one input (and the first again)
    gets exactly the finding computed afresh."""
    seq = [_exchange(str(i), i * 0.5, inputs) for i, inputs in enumerate(near_repeats(base))]
    assert drive_remembering(seq, Analyzer(max_entries=8)) == drive(
        seq, Analyzer(max_entries=8, memo=0))


def drive(seq, a: Analyzer) -> list:
    out = []
    for ex in seq:
        out += a.request(ex)
        out += a.response(ex)
        out += a.expire(ex.timestamp)
    out += a.flush()
    return [(k, f.to_metadata(), f.comment(), f.log_line()) for k, f in out]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchange_st, max_size=8))
def test_core_never_raises_and_is_deterministic(seq):
    first = drive(seq, Analyzer(max_entries=4))
    assert drive(seq, Analyzer(max_entries=4)) == first
    for _, md, comment, log_line in first:
        assert md["verdict"] in ("hidden", "exposed")
        assert (md["reason"] is not None) == (md["verdict"] == "hidden")
        assert comment.isprintable() and log_line.isprintable()  # one line, no control chars
        assert len(comment) < 4000 and len(log_line) < 5000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchange_st, max_size=8), st.lists(st.floats(0, 10_000), max_size=8))
def test_expiry_due_says_exactly_whether_expire_settles_anything(seq, clock):
    """The adapter tests ``has_pending`` and ``expiry_due`` on every request and calls
    ``expire`` only when they say so: they must never hide a due expiry nor promise one."""
    a = Analyzer(max_entries=3, preflight_wait=2.0)
    for ex, now in zip(seq, clock + [ex.timestamp for ex in seq]):
        a.request(ex)
        a.response(ex)
        pending = list(a._pending._items.values())  # what has_pending() summarises
        assert a.has_pending() == bool(pending)
        assert a.has_pending(ex.method) == any(aw.method == ex.method for aw in pending)
        due = a.expiry_due(now)
        assert due == bool(a.expire(now))
        assert not a.expiry_due(now)


def _flow(method, url, req, status, resp):
    f = tflow.tflow(resp=True)
    f.request = tutils.treq(method=method.encode(), headers=())
    f.request.url = url
    f.request.headers.fields = tuple(req)
    if status is None:
        f.response = None
    else:
        f.response = tutils.tresp(status_code=status, headers=())
        f.response.headers.fields = tuple(resp)
    return f


flow_st = st.builds(
    _flow, method_st.filter(lambda m: m != "CONNECT"), url_st, headers_st,
    st.one_of(st.none(), st.sampled_from([200, 204, 302, 500])), headers_st,
)


@settings(max_examples=300, deadline=None)
@given(flow_st, st.lists(st.sampled_from([b"Origin", b"ORIGIN", b"origin"]), max_size=3),
       st.lists(value_st, min_size=3, max_size=3))
def test_origin_header_and_method_are_what_the_exchange_holds(flow, names, values):
    """The hooks read the Origin header (or only whether there is one) and the method
    straight from the raw fields (no Exchange built for most flows): exactly what the
    core would see."""
    flow.request.headers.fields = tuple(flow.request.headers.fields) + tuple(
        (n, v if isinstance(v, bytes) else v.encode("utf-8", "surrogateescape"))
        for n, v in zip(names, values))
    ex = exchange_of(flow, response=False)
    assert origin_header(flow.request) == ex.req("origin")
    assert has_origin(flow.request) == (ex.req("origin") is not None)
    assert method_of(flow.request.data.method) == flow.request.method == ex.method


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=&%?x\u00e9", max_size=20))
def test_redact_url_replaces_every_query_value(query):
    """A one-parameter query takes a shortcut: the result is the same as for the
    general rule (each "name=value" becomes "name=…", a bare name stays)."""
    want = "&".join(p.partition("=")[0] + "=…" if "=" in p else p for p in query.split("&"))
    assert redact_url("http://h:1/p?" + query) == ("http://h:1/p?" + want if query else "http://h:1/p")


def test_hooks_never_raise_and_never_touch_traffic():
    """One mitmproxy context for all examples (each taddons.context leaves a log handler
    bound to its event loop behind); a fresh addon per example."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger().addHandler(handler)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(flow_st, min_size=1, max_size=5))
    def check(flows):
        addon = cors_creds.CorsCreds()  # the context's instance holds the options
        for f in flows:
            before = (copy.deepcopy(f.request.get_state()),
                      copy.deepcopy(f.response.get_state()) if f.response else None)
            addon.request(f)
            addon.response(f)
            after = (f.request.get_state(), f.response.get_state() if f.response else None)
            assert after == before
        addon.done()

    try:
        with taddons.context(cors_creds.CorsCreds()):
            check()
    finally:
        logging.getLogger().removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.ERROR]
    assert not [r for r in records if "internal error" in r.getMessage()]


def _flow_of(key: str, ts: float, inputs: dict):
    """A mitmproxy flow with these inputs (see DIMENSIONS), its headers as raw fields."""
    req, resp = _fields(inputs)
    f = _flow(inputs["method"], inputs["url"].partition("#")[0], req, inputs["status"], resp)
    f.id = key
    f.request.timestamp_start = ts
    if inputs["websocket"]:
        f.websocket = WebSocketData()
    return f


def _containers(value):
    """Every list and dict in a metadata value, nested ones too."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _containers(v)
    elif isinstance(value, list):
        yield value
        for v in value:
            yield from _containers(v)


def test_the_addon_remembers_findings_exactly():
    """Through the hooks, with the raw header fields mitmproxy holds: every flow's
    annotations are those of an addon that computes every finding afresh, and no two
    flows' metadata share a list or a dict (a remembered finding's rendered metadata is
    copied, never given out)."""
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(base_st)
    @example(CREDENTIALED_STAR_EXPOSE)
    @example(CREDENTIALED)
    @example(AUTHORIZED)
    @example(AT_REDIRECT_TARGET)
    def check(base):
        seq = near_repeats(base)
        out = []
        for memo in (0, MEMO):
            addon = cors_creds.CorsCreds()
            addon.analyzer = Analyzer(memo=memo)
            flows = [_flow_of(str(i), i * 0.5, inputs) for i, inputs in enumerate(seq)]
            for f in flows:
                addon.request(f)
                addon.response(f)
            addon.done()
            out.append([(f.metadata.get("cors_creds"), f.comment, f.marked) for f in flows])
            ids = [id(c) for f in flows for c in _containers(f.metadata.get("cors_creds"))]
            assert len(ids) == len(set(ids))  # each flow's metadata is its own
        assert out[0] == out[1]

    with taddons.context(cors_creds.CorsCreds()):
        check()


secret_st = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=12, max_size=24)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret_st, secret_st, secret_st, st.sampled_from(["Bearer", "Basic", "Digest", ""]),
       st.sampled_from([[], [(b"Access-Control-Allow-Origin", b"*")],
                        [(b"Access-Control-Allow-Origin", b"http://127.0.0.1:8000")]]))
def test_no_secret_reaches_any_output(cookie, token, query, scheme, resp):
    req = [(b"Origin", b"http://127.0.0.1:8000"), (b"Sec-Fetch-Mode", b"cors"),
           (b"Cookie", f"sid={cookie}; other={cookie}x".encode()),
           (b"Authorization", f"{scheme} {token}".strip().encode())]
    url = f"http://127.0.0.2:9000/api?access_token={query}&x=1"
    a = Analyzer()
    report = Report()
    texts = []
    for ex in (
        Exchange("1", "GET", url, make_headers(req), 200, make_headers(resp), 1.0),
        Exchange("2", "GET", url, make_headers(req), 302,
                 make_headers(resp + [(b"Location", f"http://u:{token}@127.0.0.2:9000/n".encode())]), 2.0),
        Exchange("3", "OPTIONS", url, make_headers(req[:2] + [(b"Access-Control-Request-Method", b"PUT")]),
                 204, make_headers(resp), 3.0),
    ):
        for key, f in a.request(ex) + a.response(ex) + a.flush():
            report.add(key, f)
            texts += [f.comment(), f.log_line(), repr(f.to_metadata()), f.console_message]
    texts += [report.to_json(), report.to_markdown(), "\n".join(report.summary_lines())]
    blob = "\n".join(texts)
    for secret in (cookie, token, query):
        assert secret not in blob
