"""The client's engine (corscore.engines): User-Agent classification over real strings of
each family, each engine's words for every reason, the engine notes, and each engine's
cookie policy. The browser suites (test_browser_engines.py) check the words against
Firefox and WebKit themselves; these tests pin the rules down one by one."""

from __future__ import annotations

import pytest
from helpers import API, PAGE, XAPI, ex, good, meta, preflight

from corscore import Analyzer, Exchange
from corscore.engines import Engine, classify, words
from corscore.reasons import REASONS, CorsError as E
from corscore.render import explain, render

F, W, C, U = Engine.FIREFOX, Engine.WEBKIT, Engine.CHROMIUM, Engine.UNKNOWN


@pytest.mark.parametrize("ua,engine,name", [
    # Blink
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/156.0.0.0 Safari/537.36", C, "HeadlessChrome 156.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", C, "Chrome 131.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", C, "Edge 131.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", C, "Opera 115.0"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", C,
     "Samsung Internet 26.0 (Android)"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.6778.135 Mobile Safari/537.36", C, "Chrome 131.0 (Android)"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A; wv) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Version/4.0 Chrome/131.0.6778.135 Mobile Safari/537.36", C, "Android WebView 131.0"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chromium/120.0.0.0 Chrome/120.0.0.0 Safari/537.36", C, "Chromium 120.0"),
    # Gecko
    ("Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0", F,
     "Firefox 153.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", F,
     "Firefox 133.0"),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", F,
     "Firefox 133.0 (Android)"),
    # WebKit: Safari, every iOS browser, webviews, WebKitGTK
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.2 Safari/605.1.15", W, "Safari 18.2"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.2 Mobile/15E148 Safari/604.1", W, "Safari 18.2 (iOS)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) CriOS/131.0.6778.103 Mobile/15E148 Safari/604.1", W, "Chrome 131.0 (iOS, WebKit)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", W, "Firefox 133.0 (iOS, WebKit)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.0 EdgiOS/131.2903.92 Mobile/15E148 Safari/605.1.15", W,
     "Edge 131.2903 (iOS, WebKit)"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.0;FBBV/1]", W, "Facebook app 480.0 (iOS, WebKit)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148", W, "iOS webview"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 "
     "Safari/605.1.15", W, "WebKitGTK"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
     W, "WebKit webview"),
    # neither: Chromium's words, and said so
    ("curl/8.5.0", U, "curl 8.5.0"),
    ("python-requests/2.32.3", U, "python-requests 2.32.3"),
    ("okhttp/4.12.0", U, "okhttp 4.12.0"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045", U, "Edge (EdgeHTML) 18.19045"),
    ("", U, "no User-Agent"),
    (None, U, "no User-Agent"),
])
def test_user_agent_classification(ua, engine, name):
    b = classify(ua)
    assert (b.engine, b.name) == (engine, name)


def test_classification_is_cached_per_user_agent():
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0"
    assert classify(ua) is classify(ua)


URL = "http://127.0.0.1:1/api/data"
ORIGIN = "http://127.0.0.1:2"
FF = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "


def w(engine, reason, role="actual", value="", **fields):
    return words(engine, reason, role, URL, ORIGIN, value, tuple(sorted(fields.items())))


@pytest.mark.parametrize("reason,role,value,fields,ff_name,ff_text,webkit", [
    (E.WildcardOriginNotAllowed, "actual", "", {"status": "200"}, "CORSNotSupportingCredentials",
     f"‘{URL}’. (Reason: Credential is not supported if the CORS header "
     "‘Access-Control-Allow-Origin’ is ‘*’).",
     "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true."),
    (E.MissingAllowOriginHeader, "actual", "", {"status": "404"}, "CORSMissingAllowOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 404.",
     f"Origin {ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 404"),
    (E.MultipleAllowOriginValues, "actual", f"{ORIGIN}, {ORIGIN}",
     {"status": "200", "acao_lines": "2"}, "CORSMultipleAllowOriginNotAllowed",
     f"{URL}. (Reason: Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed).",
     "Access-Control-Allow-Origin cannot contain more than one origin."),
    # one line holding a list: Firefox calls it a mismatch; WebKit "more than one" (comma)
    (E.MultipleAllowOriginValues, "actual", f"{ORIGIN}, http://x.test", {"status": "200"},
     "CORSAllowOriginNotMatchingOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ does not match "
     f"‘{ORIGIN}, http://x.test’).",
     "Access-Control-Allow-Origin cannot contain more than one origin."),
    # … and a space-separated list is only "not allowed" in WebKit
    (E.MultipleAllowOriginValues, "actual", f"{ORIGIN} http://x.test", {"status": "200"},
     "CORSAllowOriginNotMatchingOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ does not match "
     f"‘{ORIGIN} http://x.test’).",
     f"Origin {ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 200"),
    (E.AllowOriginMismatch, "actual", ORIGIN + "/", {"status": "200"},
     "CORSAllowOriginNotMatchingOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ does not match ‘{ORIGIN}/’).",
     f"Origin {ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 200"),
    (E.InvalidAllowCredentials, "actual", "", {"status": "200"}, "CORSMissingAllowCredentials",
     f"{URL}. (Reason: expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’).",
     'Credentials flag is true, but Access-Control-Allow-Credentials is not "true".'),
    (E.PreflightInvalidStatus, "preflight", "", {"status": "403"}, "CORSPreflightDidNotSucceed",
     f"{URL}. (Reason: CORS preflight response did not succeed). Status code: 403.",
     "Preflight response is not successful. Status code: 403"),
    # WebKit judges a preflight's status before its headers
    (E.PreflightMissingAllowOriginHeader, "preflight", "", {"status": "404"},
     "CORSMissingAllowOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 404.",
     "Preflight response is not successful. Status code: 404"),
    (E.PreflightMissingAllowOriginHeader, "preflight", "", {"status": "204"},
     "CORSMissingAllowOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 204.",
     f"Origin {ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 204"),
    (E.PreflightDisallowedRedirect, "preflight", "", {"status": "302"},
     "CORSExternalRedirectNotAllowed",
     f"{URL}. (Reason: CORS request external redirect not allowed).",
     "Preflight response is not successful. Status code: 302"),
    (E.InvalidAllowMethodsPreflightResponse, "preflight", "", {"status": "204",
                                                                "raw": "GET, PUT DELETE"},
     "CORSInvalidAllowMethod",
     f"{URL}. (Reason: invalid token ‘PUT DELETE’ in CORS header ‘Access-Control-Allow-Methods’).",
     "Header Access-Control-Allow-Methods has an invalid value: GET, PUT DELETE"),
    (E.InvalidAllowHeadersPreflightResponse, "preflight", "", {"status": "204",
                                                                "raw": "x-token x-other"},
     "CORSInvalidAllowHeader",
     f"{URL}. (Reason: invalid token ‘x-token x-other’ in CORS header "
     "‘Access-Control-Allow-Headers’).",
     "Header Access-Control-Allow-Headers has an invalid value: x-token x-other"),
    (E.MethodDisallowedByPreflightResponse, "preflight", "patch", {"status": "204"},
     "CORSMethodNotFound",
     f"{URL}. (Reason: Did not find method in CORS header ‘Access-Control-Allow-Methods’).",
     "Method patch is not allowed by Access-Control-Allow-Methods."),
    (E.HeaderDisallowedByPreflightResponse, "preflight", "x-other", {"status": "204"},
     "CORSMissingAllowHeaderFromPreflight",
     f"{URL}. (Reason: header ‘x-other’ is not allowed according to header "
     "‘Access-Control-Allow-Headers’ from CORS preflight response).",
     "Request header field X-Other is not allowed by Access-Control-Allow-Headers."),
    # a redirect response: WebKit says where it would have gone
    (E.MissingAllowOriginHeader, "redirect", "", {"status": "302",
                                                  "next_url": "http://127.0.0.2:3/b"},
     "CORSMissingAllowOrigin",
     f"{URL}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 302.",
     "Cross-origin redirection to http://127.0.0.2:3/b denied by Cross-Origin Resource Sharing "
     f"policy: Origin {ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 302"),
    (E.RedirectContainsCredentials, "redirect", "", {"status": "302",
                                                     "next_url": "http://u:…@127.0.0.1:1/b"},
     "CORSDidNotSucceed",
     f"{URL}. (Reason: CORS request did not succeed). Status code: (null).",
     "Cross-origin redirection to http://127.0.0.1:1/b denied by Cross-Origin Resource Sharing "
     "policy: redirection URL http://u:…@127.0.0.1:1/b has credentials"),
])
def test_each_engine_words(reason, role, value, fields, ff_name, ff_text, webkit):
    ff = w(F, reason, role, value, **fields)
    assert (ff.reason, ff.message) == (ff_name, FF + ff_text)
    wk = w(W, reason, role, value, **fields)
    assert (wk.reason, wk.message) == (None, webkit)
    ch = w(C, reason, role, value, **fields)
    assert ch.reason == reason and ch.message.startswith(f"Access to fetch at '{URL}'")
    assert w(U, reason, role, value, **fields).note  # unknown: Chromium's words, said so


def test_every_reason_has_each_engines_words():
    for reason, row in REASONS.items():
        assert row.firefox and row.firefox_text and row.webkit, reason
        for engine in Engine:
            assert w(engine, reason, status="200").message, (engine, reason)


def test_engine_words_are_printable():
    m = w(W, E.AllowOriginMismatch, value="x\r\ny", status="200").message
    assert m.isprintable() and "\n" not in m


# -- through the analyzer and the render

UA_FF = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0"
UA_WK = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/18.2 Mobile/15E148 Safari/604.1")
UA_CH = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/156.0.0.0 Safari/537.36")
COOKIE = [("Cookie", "sid=s3cr3t")]


def run(a, *exchanges):
    out = {}
    for e in exchanges:
        for u in a.request(e) + a.response(e):
            out[u.key] = meta(u.finding)
    for u in a.flush():
        out[u.key] = meta(u.finding)
    return out


def test_hidden_flow_names_and_speaks_its_engine():
    e = ex(req=[*COOKIE, ("User-Agent", UA_FF)], resp=[("Access-Control-Allow-Origin", "*")])
    m = run(Analyzer(), e)[e.key]
    assert m["reason"] == "WildcardOriginNotAllowed"  # the stable key stays Chromium's
    assert m["browser"]["engine"] == "firefox" and m["browser"]["name"] == "Firefox 153.0"
    assert m["browser"]["reason"] == "CORSNotSupportingCredentials"
    assert m["browser"]["message"].startswith(FF + f"‘{API}/data’")
    assert "[Firefox 153.0: CORSNotSupportingCredentials]" in m["comment"]
    assert "its console says (CORSNotSupportingCredentials):" in explain(m)


def test_webkit_comment_quotes_its_console():
    e = ex(req=[*COOKIE, ("User-Agent", UA_WK)], resp=good(creds=False))
    m = run(Analyzer(), e)[e.key]
    assert m["browser"]["engine"] == "webkit" and m["browser"]["reason"] is None
    assert m["browser"]["message"] == ('Credentials flag is true, but '
                                       'Access-Control-Allow-Credentials is not "true".')
    assert '[Safari 18.2 (iOS): "Credentials flag is true' in m["comment"]


def test_fine_flow_names_its_engine_without_words():
    e = ex(req=[*COOKIE, ("User-Agent", UA_WK)], resp=good())
    m = run(Analyzer(), e)[e.key]
    assert m["verdict"] == "exposed" and m["comment"] == ""
    assert m["browser"] == {"engine": "webkit", "name": "Safari 18.2 (iOS)", "reason": None,
                            "message": None}


def test_unknown_client_gets_chromiums_words_and_is_told_so():
    e = ex(req=COOKIE, resp=[("Access-Control-Allow-Origin", "*")])
    m = run(Analyzer(), e)[e.key]
    assert m["browser"]["engine"] == "unknown"
    assert m["browser"]["reason"] == "WildcardOriginNotAllowed"
    assert "Chromium's words" in m["browser"]["note"] and "Chromium's words" in explain(m)


def test_firefox_two_acao_lines_versus_one_line_list():
    two = ex(req=[*COOKIE, ("User-Agent", UA_FF)],
             resp=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Origin", PAGE),
                   ("Access-Control-Allow-Credentials", "true")])
    one = ex(req=[*COOKIE, ("User-Agent", UA_FF)],
             resp=[("Access-Control-Allow-Origin", f"{PAGE}, {PAGE}"),
                   ("Access-Control-Allow-Credentials", "true")])
    got = run(Analyzer(), two, one)
    assert got[two.key]["reason"] == got[one.key]["reason"] == "MultipleAllowOriginValues"
    assert got[two.key]["browser"]["reason"] == "CORSMultipleAllowOriginNotAllowed"
    assert got[one.key]["browser"]["reason"] == "CORSAllowOriginNotMatchingOrigin"


def test_undecidable_hint_carries_the_engines_words():
    e = ex(req=[("User-Agent", UA_WK)], resp=[("Access-Control-Allow-Origin", "*")])
    m = run(Analyzer(), e)[e.key]
    assert m["verdict"] == "exposed"
    assert m["if_credentialed"]["browser"]["message"].startswith("Cannot use wildcard")


# -- engine notes

def _redirected_put(ua, hop2_origin, acao, ts=1000.0):
    """PUT to API, 307 to XAPI (another origin: the origin is tainted), and the next
    preflight as the client sends it."""
    h = [("User-Agent", ua)]
    p1 = preflight(resp=[*good(creds=False), ("Access-Control-Allow-Methods", "PUT")], ts=ts)
    p1 = p1._replace(request={**p1.request, "user-agent": ua})
    a1 = ex("PUT", req=h, status=307, ts=ts + 0.1,
            resp=[*good(creds=False), ("Location", XAPI + "/b")])
    p2 = preflight(url=XAPI + "/b", origin=hop2_origin, ts=ts + 0.2,
                   resp=[("Access-Control-Allow-Origin", acao),
                         ("Access-Control-Allow-Methods", "PUT")])
    p2 = p2._replace(request={**p2.request, "user-agent": ua})
    return p1, a1, p2


def test_firefox_second_preflight_with_the_page_origin_notes_chromium_and_webkit():
    p1, a1, p2 = _redirected_put(UA_FF, PAGE, PAGE)
    got = run(Analyzer(), p1, a1, p2)[p2.key]
    assert got["verdict"] == "exposed"  # Firefox: it passes
    (note,) = got["engine_notes"]
    assert note["engines"] == ["chromium", "webkit"]
    assert "Chromium and WebKit send this redirected request's preflight with Origin: null" \
        in note["note"]
    assert "fails there (PreflightAllowOriginMismatch)" in note["note"]
    assert "CORS note (Chromium, WebKit)" in got["comment"]
    assert "In other engines:" in explain(got)


def test_chromium_second_preflight_with_null_notes_firefox():
    p1, a1, p2 = _redirected_put(UA_CH, "null", "null")
    got = run(Analyzer(), p1, a1, p2)[p2.key]
    assert got["verdict"] == "exposed"
    (note,) = got["engine_notes"]
    assert note["engines"] == ["firefox"]
    assert f"Firefox sends this redirected request's preflight with the page's origin {PAGE}" \
        in note["note"]
    assert "fails there (PreflightAllowOriginMismatch)" in note["note"]


def test_no_note_when_every_engine_agrees():
    p1, a1, p2 = _redirected_put(UA_CH, "null", "*")
    assert "engine_notes" not in run(Analyzer(), p1, a1, p2)[p2.key]  # absent: none


def test_firefox_second_preflight_is_judged_with_the_chains_credentials():
    """Firefox's page-origin preflight after a tainting redirect is the chain's next hop:
    its credentials mode is known, nothing waits for an actual request with that origin
    (the actual one carries Origin: null)."""
    p1, a1, p2 = _redirected_put(UA_FF, PAGE, "*")
    a2 = ex("PUT", url=XAPI + "/b", origin="null", ts=1000.3, req=[("User-Agent", UA_FF)],
            resp=[("Access-Control-Allow-Origin", "*")])
    got = run(Analyzer(), p1, a1, p2, a2)
    assert got[p2.key]["verdict"] == got[a2.key]["verdict"] == "exposed"


def test_webkit_authorization_preflight_note_on_a_cross_origin_redirect():
    auth = [("Authorization", "Bearer SECRET-T"), ("User-Agent", UA_CH)]
    p1 = preflight("GET", headers="authorization",
                   resp=[*good(creds=False), ("Access-Control-Allow-Headers", "authorization")])
    a1 = ex("GET", req=auth, status=302, ts=1000.1,
            resp=[*good(creds=False), ("Location", XAPI + "/b")])
    got = run(Analyzer(), p1, a1)[a1.key]
    (note,) = got["engine_notes"]
    assert note["engines"] == ["webkit"] and XAPI + "/b" in note["note"]
    assert "SECRET-T" not in repr(got)


# -- cookie policies

NAV = [("sec-fetch-mode", "navigate"), ("sec-fetch-site", "none")]
XFETCH = [("origin", "https://app.other.test"), ("sec-fetch-mode", "cors"),
          ("sec-fetch-site", "cross-site")]
ALLOW = [("access-control-allow-origin", "https://app.other.test"),
         ("access-control-allow-credentials", "true")]


def _ex(key, url, req, resp=(), ua=UA_CH, ts=1000.0):
    return Exchange.of(key=key, method="GET", url=url, request_headers=[*req, ("user-agent", ua)],
                       status=200, response_headers=list(resp), timestamp=ts, client="10.0.0.9")


def _cookies(a, *exchanges):
    out = None
    for e in exchanges:
        for u in a.response(e):
            out = render(u.finding, "!", u.cookies) if u.cookies else None
    return out


def test_firefox_total_cookie_protection_keeps_a_first_party_cookie_in_its_partition():
    a = Analyzer()
    got = _cookies(a, _ex("1", "https://api.example.test/login", NAV,
                          [("set-cookie", "sid=V; SameSite=None; Secure; Path=/")], ua=UA_FF),
                   _ex("2", "https://api.example.test/me", XFETCH + [("cookie", "x=1")], ALLOW,
                       ua=UA_FF))
    (n,) = got["cookies"]["withheld"]
    assert n["name"] == "sid" and n["reasons"] == ["OtherPartition"]
    assert got["cookies"]["rules"].startswith("Firefox's")
    assert "Total Cookie Protection" in got["cookies"]["third_party_cookies"]


def test_firefox_stores_a_third_party_cookie_in_the_pages_partition():
    a = Analyzer()
    got = _cookies(a, _ex("1", "https://api.example.test/login", XFETCH + [("cookie", "x=1")],
                          [*ALLOW, ("set-cookie", "sid=V; Path=/")], ua=UA_FF))
    assert got is None  # stored (partitioned), no refusal: no SameSite means None in Firefox


def test_webkit_blocks_third_party_cookies_without_inference():
    a = Analyzer()
    got = _cookies(a, _ex("1", "https://api.example.test/login", NAV,
                          [("set-cookie", "sid=V; SameSite=None; Secure; Path=/")], ua=UA_WK),
                   _ex("2", "https://api.example.test/me", XFETCH + [("cookie", "sid=V")], ALLOW,
                       ua=UA_WK))
    assert got is None  # it was sent: nothing withheld (a WebKit that allowed it)
    got = _cookies(a, _ex("3", "https://api.example.test/me", XFETCH + [("cookie", "x=1")],
                          [*ALLOW, ("set-cookie", "t=1; SameSite=None; Secure; Path=/")],
                          ua=UA_WK))
    (r,) = got["cookies"]["rejected"]
    assert r["reasons"] == ["UserPreferences"]  # never inferred allowed: Safari blocks them
    assert got["cookies"]["third_party_cookies"].startswith("blocked (WebKit")


def test_webkit_keeps_samesite_none_without_secure_where_chromium_refuses_it():
    line = [("set-cookie", "sid=V; SameSite=None; Path=/")]
    chromium = _cookies(Analyzer(), _ex("1", "http://api.example.test/login", NAV, line))
    webkit = _cookies(Analyzer(), _ex("1", "http://api.example.test/login", NAV, line, ua=UA_WK))
    assert chromium["cookies"]["rejected"][0]["reasons"] == ["SameSiteNoneInsecure"]
    assert webkit is None
    firefox = _cookies(Analyzer(), _ex("1", "http://api.example.test/login", NAV, line, ua=UA_FF))
    assert firefox["cookies"]["rejected"][0]["reasons"] == ["SameSiteNoneInsecure"]


# -- reports group per engine

def test_report_and_summary_group_per_engine():
    from corscore.report import Report

    rep = Report()
    a = Analyzer()
    for i, ua in enumerate((UA_FF, UA_FF, UA_WK, UA_CH)):
        e = ex(req=[*COOKIE, ("User-Agent", ua)], resp=[("Access-Control-Allow-Origin", "*")],
               ts=1000.0 + i)
        for k, m in run(a, e).items():
            rep.add(k, m, 1000.0 + i)
    ok = ex(req=[*COOKIE, ("User-Agent", UA_WK)], resp=good(), ts=1010.0)
    for k, m in run(a, ok).items():
        rep.add(k, m, 1010.0)
    d = rep.to_dict()
    assert d["engines"] == {"chromium": {"cors_flows": 1, "hidden": 1},
                            "firefox": {"cors_flows": 2, "hidden": 2},
                            "webkit": {"cors_flows": 2, "hidden": 1}}
    (group,) = d["summary"]
    assert group["count"] == 4 and group["engines"] == {"firefox": 2, "webkit": 1, "chromium": 1}
    lines = rep.summary_lines()
    assert lines[0] == ("clients: chromium 1 CORS flows, 1 hidden; firefox 2 CORS flows, "
                        "2 hidden; webkit 2 CORS flows, 1 hidden")
    assert "WildcardOriginNotAllowed ×4 (chromium 1, firefox 2, webkit 1)" in lines[2]
    md = rep.to_markdown()
    assert "| client engine | CORS flows | hidden |" in md and "| firefox | 2 | 2 |" in md
    assert "chromium 1, firefox 2, webkit 1" in md and "<td>firefox</td>" in rep.to_html()
