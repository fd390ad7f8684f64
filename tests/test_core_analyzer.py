"""The stateful core: classification, credentials evidence, preflight/actual
correlation, redirect chains, hints, and the state cap."""

import pytest
from helpers import API, COOKIE, PAGE, XAPI, ex, good, meta, preflight

from corscore import Analyzer, classify


def run(a, e):
    """request then response, like the proxy; returns {key: rendered finding}."""
    return {u.key: meta(u.finding) for u in a.request(e) + a.response(e)}


def one(e, a=None):
    a = a or Analyzer()
    return run(a, e).get(e.key)


@pytest.mark.parametrize("e,kind", [
    (ex(), "cors"),
    (ex(url=PAGE + "/same"), None),  # same-origin
    (ex(origin=None), None),
    (ex(req=[("Sec-Fetch-Mode", "no-cors")], fetch_metadata=False), None),
    (ex(req=[("Sec-Fetch-Mode", "navigate")], fetch_metadata=False), None),
    (ex(fetch_metadata=False), "cors"),  # Origin differs, no fetch metadata
    (ex(fetch_metadata=False, req=[("Upgrade-Insecure-Requests", "1")], method="POST"), None),
    (ex(fetch_metadata=False, req=[("Accept", "text/html,*/*")], method="POST"), None),
    (ex(websocket=True), None),
    (ex(method="CONNECT"), None),
    (ex(origin="null"), "cors"),
    (preflight(), "preflight"),
    (ex("OPTIONS"), "cors"),  # OPTIONS without Access-Control-Request-Method is a plain request
])
def test_classify(e, kind):
    assert classify(e) == kind


def test_not_cors_gets_no_finding():
    assert one(ex(url=PAGE + "/x", resp=[])) is None


def test_cookie_is_credentials_evidence_names_only():
    f = one(ex(req=COOKIE, resp=good(creds=False)))
    assert f["verdict"] == "hidden" and f["reason"] == "InvalidAllowCredentials"
    assert f["credentials"] == ["cookie sid, theme"]
    text = repr(f) + log_line(f)
    assert "s3cr3t" not in text and "dark" not in text
    assert 'on this response: "Access-Control-Allow-Credentials: true"' in f["comment"]
    assert f["comment"].startswith("CORS InvalidAllowCredentials: credentialed request (cookie sid, theme)")


def test_status_does_not_matter():
    f = one(ex(status=500, req=COOKIE, resp=good()))
    assert f["verdict"] == "exposed" and f["reason"] is None


def test_404_without_cors_headers_says_so():
    f = one(ex(status=404, req=COOKIE, resp=[]))
    assert f["reason"] == "MissingAllowOriginHeader"
    assert "status 404" in f["comment"]
    assert "Access-Control-Allow-Credentials: true" in f["fix"]


def test_no_credentials_wildcard_is_fine_but_hinted():
    f = one(ex(resp=[("Access-Control-Allow-Origin", "*")]))
    assert f["verdict"] == "exposed"
    assert f["if_credentialed"]["reason"] == "WildcardOriginNotAllowed"
    assert f["comment"] == ""  # a hint is not a finding


def test_no_credentials_missing_acac_hint():
    f = one(ex(resp=good(creds=False)))
    assert f["verdict"] == "exposed"
    assert f["if_credentialed"]["reason"] == "InvalidAllowCredentials"


def test_fine_credentialed_flow():
    f = one(ex(req=COOKIE, resp=good()))
    md = f
    assert md["verdict"] == "exposed" and md["reason"] is None and md["if_credentialed"] is None
    assert md["credentials"] == ["cookie sid, theme"]
    assert f["comment"] == ""


def test_browser_http_auth_is_credentials():
    f = one(ex(req=[("Authorization", "Basic dXNlcjpwYXNz")], resp=good(creds=False)))
    assert f["reason"] == "InvalidAllowCredentials"
    assert f["confidence"] == "inferred"
    assert "dXNlcjpwYXNz" not in repr(f) + f["comment"]
    assert f["credentials"][0].startswith("authorization (Basic scheme")


def test_author_authorization_announced_by_preflight_is_not_credentials():
    a = Analyzer()
    run(a, preflight("GET", headers="authorization", resp=[
        ("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "authorization")]))
    f = run(a, actual := ex(req=[("Authorization", "Bearer tok")], resp=[
        ("Access-Control-Allow-Origin", PAGE)], ts=1000.1))[actual.key]
    assert f["verdict"] == "exposed" and f["credentials"] == []


def test_aceh_star_with_credentials_lists_hidden_headers():
    f = one(ex(req=COOKIE, resp=good() + [("Access-Control-Expose-Headers", "*"),
                                         ("X-Request-Id", "1")]))
    assert f["verdict"] == "exposed"
    # Every header JS cannot read is listed; the comment names only the app's own one.
    assert "x-request-id" in f["hidden_headers"] and "access-control-allow-origin" in f["hidden_headers"]
    assert "x-request-id" in f["comment"] and "literal" in f["comment"]
    assert "access-control-allow-origin," not in f["comment"].split("—")[0]
    step, = f["remedy"]["steps"]
    assert step["set"] == ["Access-Control-Expose-Headers: x-request-id"] and "if" not in step


# --- preflights

PF_OK = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
         ("Access-Control-Allow-Methods", "PUT")]


def test_preflight_failing_in_every_mode_is_certain():
    f = one(preflight(status=403, resp=PF_OK))
    assert f["verdict"] == "hidden" and f["reason"] == "PreflightInvalidStatus" and f["role"] == "preflight"
    assert "the browser will not send the PUT" in f["comment"]
    assert f["confidence"] == "certain"


def test_preflight_fine_in_every_mode():
    f = one(preflight(resp=PF_OK))
    assert f["verdict"] == "exposed" and f["if_credentialed"] is None


def _noacac_preflight(extra=(), **kw):
    return preflight(resp=[("Access-Control-Allow-Origin", PAGE),
                           ("Access-Control-Allow-Methods", "PUT"), *extra], **kw)


def test_preflight_credentials_only_failure_followed_by_actual_is_fine():
    a = Analyzer(preflight_wait=3)
    p = _noacac_preflight(ts=1000)
    f = run(a, p)[p.key]
    assert f["verdict"] == "exposed" and f["related"]["awaiting_actual"]
    assert f["if_credentialed"]["reason"] == "PreflightInvalidAllowCredentials"
    act = ex("PUT", ts=1000.2, resp=[("Access-Control-Allow-Origin", PAGE)])
    updates = a.request(act)
    assert [u.key for u in updates] == [p.key]
    settled = meta(updates[0].finding)
    assert settled["verdict"] == "exposed" and settled["related"]["actual_followed"] is True
    assert a.expire(2000) == []


def test_preflight_credentials_only_failure_without_actual_is_inferred_hidden():
    a = Analyzer(preflight_wait=3)
    p = _noacac_preflight(ts=1000)
    run(a, p)
    assert a.expire(1002) == []
    (u,) = a.expire(1003.5)
    assert u.key == p.key
    f = meta(u.finding)
    assert f["verdict"] == "hidden" and f["reason"] == "PreflightInvalidAllowCredentials"
    assert f["confidence"] == "inferred" and f["credentials_mode"] == "include"
    assert "will not send the PUT" in f["comment"]


def test_unrelated_flow_after_window_settles_pending_preflight():
    a = Analyzer(preflight_wait=3)
    p = _noacac_preflight(ts=1000)
    run(a, p)
    other = ex(url=XAPI + "/other", ts=1010, resp=[("Access-Control-Allow-Origin", "*")])
    keys = [u.key for u in a.request(other)]
    assert p.key in keys


def test_expiry_comes_exactly_at_each_deadline_whatever_settled_before():
    """A pending preflight is over exactly ``preflight_wait`` after it (not a moment
    before); settling the oldest, or the cap pushing it out, makes the next one's time
    the deadline; and the preflight cache ages out with nothing pending, at most once a
    second of flow time."""
    a = Analyzer(preflight_wait=3, max_entries=2)
    p1, p2 = (_noacac_preflight(ts=1000 + i, url=f"{API}/p{i}") for i in range(2))
    run(a, p1), run(a, p2)
    assert a.expire(1002.999) == []
    assert [u.key for u in a.expire(1003.0)] == [p1.key]  # exactly 3 s: over
    assert a.expire(1003.9) == [] and [u.key for u in a.expire(1004.0)] == [p2.key]
    p3, p4 = (_noacac_preflight(ts=1010 + i, url=f"{API}/q{i}") for i in range(2))
    run(a, p3), run(a, p4)
    a.request(ex("PUT", url=f"{API}/q0", ts=1010.5, resp=[("Access-Control-Allow-Origin", PAGE)]))
    assert a.expire(1013.5) == [] and [u.key for u in a.expire(1014.0)] == [p4.key]
    for i in range(3):  # over the cap of 2: the oldest is dropped, the next is the deadline
        run(a, _noacac_preflight(ts=1020 + i, url=f"{API}/r{i}"))
    assert a.expire(1023.9) == [] and len(a.expire(1024.0)) == 1 and a.waiting()
    a = Analyzer(preflight_wait=3, max_age=60)
    run(a, preflight(ts=1000, resp=PF_OK))  # remembered 60 s, nothing pending
    assert not a.waiting() and len(a.state) == 1
    a.expire(1059.5)
    a.expire(1060.0)  # exactly 60 s: not yet over
    assert len(a.state) == 1
    a.expire(1060.4)  # over, but the cache was aged less than a second ago
    assert len(a.state) == 1
    a.expire(1060.6)
    assert len(a.state) == 0


def test_waiting_and_open_follow_settling_expiry_flush_and_the_cap():
    """The adapter reads requests only while a preflight waits, and holds back the -w
    write of an open flow: both follow settling, expiry, flush and the cap."""
    a = Analyzer(preflight_wait=3, max_entries=2)
    assert not a.waiting()
    p = _noacac_preflight(ts=1000)
    run(a, p)
    assert a.waiting() and a.is_open(p.key)
    other = ex("GET", ts=1000.1, resp=[("Access-Control-Allow-Origin", PAGE)])
    assert a.request(other) == [] and a.is_open(p.key)  # not the request it waits for
    a.request(ex("PUT", ts=1000.2, resp=[("Access-Control-Allow-Origin", PAGE)]))
    assert not a.waiting() and not a.is_open(p.key)
    pfs = [_noacac_preflight(ts=1001 + i, url=f"{API}/p{i}") for i in range(3)]
    for pf in pfs:  # over the cap of 2: the oldest is dropped
        run(a, pf)
    assert not a.is_open(pfs[0].key) and a.is_open(pfs[1].key) and len(a.state) <= 3 * 2
    assert [u.key for u in a.expire(1005.5)] == [pfs[1].key] and a.waiting()
    assert [u.key for u in a.flush()] == [pfs[2].key] and not a.waiting()


def test_a_request_can_settle_a_preflight_only_with_its_method_and_path():
    """The adapter reads a request only when a pending preflight awaits its method and
    URL path (query and fragment aside): any other request is ruled out in one lookup."""
    a = Analyzer(preflight_wait=3)
    run(a, _noacac_preflight(url=API + "/data?id=1#top", ts=1000))
    assert a.awaits("PUT", "/data") and a.awaits("PUT") and not a.awaits("POST")
    assert not a.awaits("PUT", "/data/2") and not a.awaits("POST", "/data")
    assert not a.awaits("PUT", "/data?id=1")  # the caller gives the path alone
    a.flush()
    assert not a.awaits("PUT", "/data")


def test_flush_settles_everything():
    a = Analyzer()
    p = _noacac_preflight()
    run(a, p)
    (u,) = a.flush()
    assert u.key == p.key and u.finding.hidden


def test_preflight_star_origin_with_followed_actual_is_fine():
    a = Analyzer()
    p = preflight(resp=[("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT")])
    run(a, p)
    (u,) = a.request(ex("PUT", ts=1000.1, resp=[("Access-Control-Allow-Origin", "*")]))
    assert u.key == p.key and u.finding.verdict == "exposed"


def test_actual_links_its_preflight():
    a = Analyzer()
    p = preflight(resp=PF_OK)
    run(a, p)
    act = ex("PUT", req=COOKIE, resp=good(creds=False), ts=1000.1)
    f = run(a, act)[act.key]
    assert f["related"]["preflight"] == p.key
    assert f["reason"] == "InvalidAllowCredentials"


def test_actual_without_preflight_in_view_is_judged_on_its_own():
    f = one(ex("PUT", req=COOKIE, resp=good()))
    assert f["verdict"] == "exposed"


# --- redirects

def test_redirect_hop_without_cors_headers():
    f = one(ex(status=302, req=COOKIE, resp=[("Location", API + "/next")]))
    assert f["role"] == "redirect" and f["reason"] == "MissingAllowOriginHeader"


def test_redirect_with_userinfo():
    f = one(ex(status=302, resp=good(creds=False) + [("Location", "http://u:pw@127.0.0.1:9000/n")]))
    assert f["reason"] == "RedirectContainsCredentials"
    assert "pw" not in f["comment"].replace("pw@", "")
    assert "u:…@" in f["comment"]


def test_cross_origin_redirect_taints_and_carries_credentials():
    a = Analyzer()
    h1 = ex(status=302, req=COOKIE, resp=good() + [("Location", XAPI + "/final")], ts=1)
    f1 = run(a, h1)[h1.key]
    assert f1["role"] == "redirect" and f1["verdict"] == "exposed"
    # hop 2: Origin is null, the Lax cookie was dropped, the mode is still include
    h2 = ex(url=XAPI + "/final", origin="null", ts=1.1,
            resp=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")])
    f2 = run(a, h2)[h2.key]
    assert f2["verdict"] == "hidden" and f2["reason"] == "AllowOriginMismatch"
    assert f2["credentials_mode"] == "include"
    assert "hop 2 of 2" in f2["related"]["chain"]


def test_tainted_final_allowing_null_with_credentials_is_fine():
    a = Analyzer()
    run(a, ex(status=307, req=COOKIE, resp=good() + [("Location", XAPI + "/f")], ts=1))
    h2 = ex(url=XAPI + "/f", origin="null", ts=1.1, resp=good("null"))
    assert run(a, h2)[h2.key]["verdict"] == "exposed"


def test_tainted_final_without_acac_fails_though_no_cookie_on_hop():
    a = Analyzer()
    run(a, ex(status=302, req=COOKIE, resp=good() + [("Location", XAPI + "/f")], ts=1))
    h2 = ex(url=XAPI + "/f", origin="null", ts=1.1, resp=[("Access-Control-Allow-Origin", "null")])
    f = run(a, h2)[h2.key]
    assert f["reason"] == "InvalidAllowCredentials"
    assert "carried from hop 1" in f["credentials"][0]


def test_same_origin_redirect_keeps_origin():
    a = Analyzer()
    run(a, ex(status=302, req=COOKIE, resp=good() + [("Location", "/two")], ts=1))
    h2 = ex(url=API + "/two", req=COOKIE, ts=1.1, resp=good())
    f = run(a, h2)[h2.key]
    assert f["verdict"] == "exposed" and f["related"]["hop"] == 2


def test_post_302_becomes_get():
    a = Analyzer()
    run(a, ex("POST", status=302, req=COOKIE, resp=good() + [("Location", "/g")], ts=1))
    h2 = ex("GET", url=API + "/g", ts=1.1, resp=good(creds=False))
    f = run(a, h2)[h2.key]
    assert f["reason"] == "InvalidAllowCredentials"


# --- bounded state

def test_state_is_capped():
    a = Analyzer(max_entries=50)
    for i in range(5000):
        run(a, preflight(url=f"{API}/r{i}", ts=1000 + i * 0.001,
                         resp=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Methods", "PUT")]))
        run(a, ex(status=302, url=f"{API}/d{i}", resp=good() + [("Location", f"/n{i}")],
                  ts=1000 + i * 0.001))
    assert len(a.state) <= 3 * 50


def test_state_ages_out():
    a = Analyzer(max_entries=10_000, max_age=60)
    for i in range(100):
        run(a, preflight(url=f"{API}/r{i}", ts=1000, resp=PF_OK))
    a.expire(1000 + 7200 + 61)
    assert len(a.state) == 0


def test_flows_without_response_are_skipped():
    a = Analyzer()
    e = ex(status=None)
    assert run(a, e) == {}


# --- every reason renders: comment, log line, metadata, hint

import re  # noqa: E402

from corscore import REASONS, Finding  # noqa: E402
from corscore.render import log_line  # noqa: E402


@pytest.mark.parametrize("name", list(REASONS))
def test_every_reason_renders_without_placeholders(name):
    f = meta(Finding(verdict="hidden", role="actual", origin=PAGE, url=API + "/x", method="PUT",
                     credentials=("cookie sid",), reason=name, failed_parameter="v",
                     fields=(("status", "403"), ("location", "/l"), ("raw", "a b"),
                             ("requested_headers", "x-a"))))
    for text in (f["comment"], log_line(f), f["message"], repr(f)):
        assert re.search(r"\{[a-z_]+\}", text) is None, text
    assert f["comment"].startswith(f"CORS {name}: ")
    assert " — " in f["comment"]
    r = REASONS[name]
    assert r.condition and r.console and r.explain and r.fix


@pytest.mark.parametrize("acam,acah,reason", [
    ("PUT DELETE", None, "InvalidAllowMethodsPreflightResponse"),
    ("PUT", "x-a x-b", "InvalidAllowHeadersPreflightResponse"),
])
def test_unparsable_lists_through_the_analyzer(acam, acah, reason):
    resp = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", acam)]
    if acah:
        resp.append(("Access-Control-Allow-Headers", acah))
    f = one(preflight(headers="x-a", resp=resp))
    assert f["reason"] == reason
    assert "is not a comma list of tokens" in f["comment"]
    assert ("PUT DELETE" in f["comment"]) or ("x-a x-b" in f["comment"])


@pytest.mark.parametrize("pf_resp,reason", [
    ([("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
      ("Access-Control-Allow-Methods", "PUT")], None),
    ([("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Methods", "PUT")],
     "PreflightInvalidAllowCredentials"),
])
def test_preflight_of_a_redirect_hop_knows_the_credentials_mode(pf_resp, reason):
    a = Analyzer()
    run(a, preflight(resp=PF_OK, ts=1))
    run(a, ex("PUT", status=307, req=COOKIE, resp=good() + [("Location", "/b")], ts=1.1))
    p2 = preflight(url=API + "/b", resp=pf_resp, ts=1.2)
    f = run(a, p2)[p2.key]
    assert f["reason"] == reason and f["related"]["hop"] == 2
    assert f["confidence"] == "certain" and "awaiting_actual" not in f["related"]


def test_control_characters_and_huge_values_stay_out_of_the_one_line_comment():
    bad = "http://evil\r\nX-Injected:1" + "a" * 50_000
    f = one(ex(req=COOKIE, resp=[("Access-Control-Allow-Origin", bad),
                                 ("Access-Control-Allow-Credentials", "true")]))
    assert f["reason"] == "InvalidAllowOriginValue"
    assert f["comment"].isprintable() and len(f["comment"]) < 1000
    assert "\\x0d\\x0a" in f["comment"]
    assert len(f["failed_parameter"]) == 2048
    g = one(ex(req=COOKIE, resp=good() + [("Access-Control-Expose-Headers", "*"), ("x-\x00", "1")]))
    assert g["comment"].isprintable()
