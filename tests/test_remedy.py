"""The remedy: every change that makes the whole request readable, in one go.

The strongest check is the browser's (test_browser.py's fix loop). Here the same idea
over the core's own judgements, for random responses: apply a remedy's steps to the
response they name and judge again; nothing may fail any more. And a remedy never holds
an unsafe line or a secret."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from corscore import Analyzer
from corscore.checks import hidden_response_headers, judge_access, judge_preflight, \
    parse_preflight_request
from corscore.remedy import MAYBE, YES, body_line, for_preflight, for_response, recognise, \
    worth_naming
from helpers import API, COOKIE, PAGE, XAPI, ex, good, meta, preflight

URL = API + "/data"
acao_st = st.sampled_from([None, "*", PAGE, PAGE + "/", "null", f"{PAGE}, {XAPI}", "foo", ""])
acac_st = st.sampled_from([None, "true", "TRUE", "false", " true"])
vary_st = st.sampled_from([None, "Accept-Encoding", "Origin", "*", "accept, origin"])
aceh_st = st.sampled_from([None, "*", "X-Total", "x y", "*, X-Total", "Set-Cookie", "date"])
names_st = st.lists(st.sampled_from(["x-total", "x-request-id", "date", "server", "set-cookie",
                                     "content-type", "x-powered-by"]), unique=True)
status_st = st.sampled_from([None, 200, 204, 301, 302, 400, 401, 403, 404, 500])


def apply(steps, on_url, method, status, headers, include):
    """A response after the steps for it: the status, and header values by lower-case name."""
    headers = dict(headers)
    for s in steps:
        if (s.method, s.url) != (method, on_url) or (s.when and not include):
            continue
        if s.status is not None:
            status = s.status
        for name in s.remove:
            headers.pop(name.lower(), None)
        for line in s.set:
            name, _, value = line.partition(": ")
            headers[name.lower()] = value
    return status, headers


def _unsafe(remedy, creds):
    for s in remedy.steps:
        for line in s.set:
            low = line.lower()
            if low == "access-control-allow-origin: null":
                return line
            if low == "access-control-allow-origin: *" and (s.when or creds == YES):
                return line
    return None


@given(acao_st, acac_st, vary_st, aceh_st, names_st, st.booleans(), st.booleans())
def test_an_actual_response_remedied_is_readable_headers_too(acao, acac, vary, aceh, names,
                                                             include, page_includes):
    creds = YES if include else MAYBE
    names = tuple(names)
    r = for_response("actual", PAGE, URL, "GET", 200, None, acao, acac, vary, aceh, names,
                     creds, None, None)
    assert _unsafe(r, creds) is None
    sends = include or page_includes  # MAYBE: the page may or may not send credentials
    _, h = apply(r.steps, URL, "GET", 200, {"access-control-allow-origin": acao,
                                             "access-control-allow-credentials": acac,
                                             "access-control-expose-headers": aceh}, sends)
    h = {k: v for k, v in h.items() if v is not None}
    access = judge_access(h.get("access-control-allow-origin"),
                          h.get("access-control-allow-credentials"), PAGE, sends)
    assert access.failure is None, (r, h)
    unread = hidden_response_headers(h.get("access-control-expose-headers"), names, sends)
    assert [n for n in unread if worth_naming(n, aceh) and n != "set-cookie"] == [], (r, h)


@given(st.sampled_from(["GET", "PUT", "patch", "DELETE", "POST"]),
       st.lists(st.sampled_from(["authorization", "content-type", "x-custom"]), unique=True),
       status_st, acao_st, acac_st,
       st.sampled_from([None, "*", "GET", "PUT DELETE", "PUT", "PATCH", "GET, *"]),
       st.sampled_from([None, "*", "content-type", "x y", "authorization, *"]),
       st.booleans(), st.booleans())
def test_a_preflight_remedied_lets_the_whole_request_through(method, requested, status, acao,
                                                            acac, acam, acah, include, sends):
    creds = YES if include else MAYBE
    sends = include or sends
    req = parse_preflight_request(PAGE, method, ", ".join(requested) or None, None)
    location = "/elsewhere" if status in (301, 302) else None
    r = for_preflight(PAGE, method, req.headers, URL, status, location, acao, acac, acam, acah,
                      None, creds, None, None, None)
    assert _unsafe(r, creds) is None
    before = {"access-control-allow-origin": acao, "access-control-allow-credentials": acac,
              "access-control-allow-methods": acam, "access-control-allow-headers": acah,
              "location": location}
    st_, h = apply(r.steps, URL, "OPTIONS", status, before, sends)
    v = judge_preflight(req, st_, h.get("location"), h.get("access-control-allow-origin"),
                        h.get("access-control-allow-credentials"),
                        h.get("access-control-allow-methods"),
                        h.get("access-control-allow-headers"), None, sends)
    assert v.failure is None, (r, h)
    # Fetch: * never covers Authorization; the remedy lists it by name
    if "authorization" in requested:
        assert "authorization" in (h.get("access-control-allow-headers") or "").lower()
    # and the actual request it gates, whatever its response had
    _, a = apply(r.steps, URL, method, 200, {}, sends)
    assert judge_access(a.get("access-control-allow-origin"),
                        a.get("access-control-allow-credentials"), PAGE, sends).failure is None


def one(*exchanges):
    an = Analyzer()
    out = []
    for e in exchanges:
        out += an.request(e) + an.response(e)
    return [meta(u.finding) for u in out + an.flush()]


def test_a_fixed_preflight_also_fixes_the_actual_it_gates():
    pf, = one(preflight(status=403, resp=good()))
    assert pf["reason"] == "PreflightInvalidStatus"
    on = [(s["on"], s["method"], s["status"]) for s in pf["remedy"]["steps"]]
    assert on == [("preflight", "OPTIONS", 204), ("actual", "PUT", None),
                  ("actual", "PUT", None)]
    assert pf["remedy"]["steps"][0]["set"] == ["Access-Control-Allow-Methods: PUT"]
    assert pf["remedy"]["steps"][2] == {
        "on": "actual", "method": "PUT", "url": URL, "status": None,
        "set": ["Access-Control-Allow-Credentials: true"], "if": "credentialed"}
    assert pf["comment"].startswith("CORS PreflightInvalidStatus")
    assert ('fix on the preflight (OPTIONS): answer 204, "Access-Control-Allow-Methods: PUT" '
            "(+1 more response to change: cors.remedy)") in pf["comment"]


def test_an_unfollowed_preflight_gets_the_credentialed_remedy():
    # passes without credentials, fails with them; no actual request follows
    pending, f = one(preflight(resp=[("Access-Control-Allow-Origin", PAGE),
                                     ("Access-Control-Allow-Methods", "PUT")]))
    assert pending["verdict"] == "exposed" and pending["comment"] == ""
    assert all(s["if"] == "credentialed" for s in pending["remedy"]["steps"])
    assert f["verdict"] == "hidden" and f["reason"] == "PreflightInvalidAllowCredentials"
    steps = f["remedy"]["steps"]
    assert [s.get("if") for s in steps] == [None, None]  # credentials are certain now
    assert steps[0]["set"] == ["Access-Control-Allow-Credentials: true"]
    assert steps[1]["set"] == [f"Access-Control-Allow-Origin: {PAGE}",
                               "Access-Control-Allow-Credentials: true"]


def test_a_followed_preflight_needs_no_remedy():
    pf = preflight(resp=[("Access-Control-Allow-Origin", PAGE),
                         ("Access-Control-Allow-Methods", "PUT")])
    pending, settled, actual = one(pf, ex("PUT", resp=[("Access-Control-Allow-Origin", PAGE)]))
    assert settled["verdict"] == "exposed" and settled["remedy"] is None
    assert actual["verdict"] == "exposed"  # fine, but not with credentials:
    assert [s.get("if") for s in actual["remedy"]["steps"]] == ["credentialed"]


def test_credentials_undecidable_lines_come_as_conditional_steps():
    f, = one(ex(resp=[("Access-Control-Allow-Origin", "*")]))
    assert f["verdict"] == "exposed" and f["comment"] == ""
    step, = f["remedy"]["steps"]
    assert step["if"] == "credentialed"
    assert step["set"] == [f"Access-Control-Allow-Origin: {PAGE}", "Vary: Origin",
                           "Access-Control-Allow-Credentials: true"]
    g, = one(ex(resp=[("Access-Control-Allow-Origin", "http://other")]))
    assert g["verdict"] == "hidden"
    assert "; if the page sends credentials also " in g["comment"]


def test_vary_keeps_what_the_server_varies_on():
    f, = one(ex(req=COOKIE, resp=[("Access-Control-Allow-Origin", "*"), ("Vary", "Accept")]))
    assert f["remedy"]["steps"][0]["set"] == [f"Access-Control-Allow-Origin: {PAGE}",
                                              "Vary: Accept, Origin",
                                              "Access-Control-Allow-Credentials: true"]


def test_a_cross_origin_redirect_with_credentials_is_fixed_by_not_redirecting():
    first = ex(url=URL, req=COOKIE, status=302, resp=good() + [("Location", XAPI + "/login")])
    second = ex(url=XAPI + "/login", origin="null", resp=[("Content-Type", "text/html")])
    hop1, hop2 = one(first, second)
    assert hop1["verdict"] == "exposed" and hop2["verdict"] == "hidden"
    step, = hop2["remedy"]["steps"]
    assert (step["on"], step["method"], step["url"], step["status"], step["remove"]) == (
        "redirect", "GET", URL, 401, ["Location"])
    assert f"Access-Control-Allow-Origin: {PAGE}" in step["set"]
    assert "null" in hop2["remedy"]["note"] and "401" in hop2["remedy"]["note"]
    assert not any("Access-Control-Allow-Origin: null" in line for line in step["set"])


def test_a_failing_redirect_also_readies_the_next_hop():
    f, = one(ex(url=URL, req=COOKIE, status=302,
                resp=[("Location", "http://u:pw@127.0.0.1:9000/next")] + good()))
    assert f["reason"] == "RedirectContainsCredentials"
    this, nxt = f["remedy"]["steps"]
    assert this["set"] == ["Location: http://127.0.0.1:9000/next"]
    assert (nxt["on"], nxt["url"]) == ("actual", API + "/next")
    assert "pw" not in repr(f["remedy"])


def test_a_post_redirected_by_302_continues_as_get():
    f, = one(ex("POST", url=URL, req=COOKIE, status=302, resp=[("Location", "/b")]))
    assert [(s["on"], s["method"], s["url"]) for s in f["remedy"]["steps"]] == [
        ("redirect", "POST", URL), ("actual", "GET", API + "/b")]


def test_set_cookie_is_never_readable_and_the_remedy_says_so():
    f, = one(ex(req=COOKIE, resp=good() + [("Set-Cookie", "a=SECRET"),
                                          ("Access-Control-Expose-Headers", "Set-Cookie")]))
    assert "set-cookie" in f["hidden_headers"]
    assert f["remedy"]["steps"] == [] and "by design" in f["remedy"]["note"]
    assert "JS cannot read set-cookie" in f["comment"] and "SECRET" not in repr(f)


def test_header_visibility_names_only_headers_worth_naming():
    f, = one(ex(req=COOKIE, resp=good() + [("Date", "x"), ("Server", "y"), ("X-Total-Count", "3"),
                                          ("X-Powered-By", "z")]))
    assert {"date", "server", "x-total-count", "x-powered-by"} <= set(f["hidden_headers"])
    assert f["comment"].startswith("CORS: JS cannot read x-total-count — ")
    assert '"Access-Control-Expose-Headers: x-total-count"' in f["comment"]
    quiet, = one(ex(req=COOKIE, resp=good() + [("Date", "x"), ("Server", "y")]))
    assert quiet["comment"] == "" and quiet["remedy"] is None


def test_the_servers_own_words_and_stack():
    body = "Disallowed CORS headers"
    e = preflight(method="PATCH", headers="content-type", status=400,
                  resp=good() + [("Server", "uvicorn")])
    e = e._replace(body=body_line(body))
    f, = one(e)
    assert f["remedy"]["server_says"] == "Disallowed CORS headers"
    assert 'server says: "Disallowed CORS headers"' in f["comment"]
    hint = f["remedy"]["server_hint"]
    assert hint.startswith("the body's 'Disallowed CORS …' is Starlette's CORSMiddleware")
    assert 'allow_methods=["PATCH"]' in hint and 'allow_headers=["content-type"]' in hint
    assert recognise(None, "Express", None) == "express"
    assert recognise("nginx", None, None) is None  # never a guess
    assert recognise(None, None, "CORS preflight request failed: headers") == "aiohttp-cors"


def test_body_line_is_short_plain_and_secret_free():
    assert body_line("\n  denied: token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123 \nmore") == \
        "denied: token …"
    assert body_line("x" * 500).endswith("…") and len(body_line("x" * 500)) == 121
    assert body_line("bad\x00byte") == "bad\\x00byte"
    assert body_line("   ") is None


def test_an_opaque_page_origin_gets_star_only_without_credentials():
    f, = one(ex(origin="null", resp=[]))
    step, = f["remedy"]["steps"]
    assert step["set"] == ["Access-Control-Allow-Origin: *"] and "if" not in step
    g, = one(ex(origin="null", req=COOKIE, resp=[]))
    assert g["remedy"]["steps"] == [] and g["remedy"]["complete"] is False
    assert g["remedy"]["why_incomplete"]
