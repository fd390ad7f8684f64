"""The cookie rules of the core (corscore.cookies) and the ledger (state.Jars), over plain
values: table-driven, one row per rule of ../shared/cookies-observed.md, plus properties
(no value is ever held; the ledger stays bounded)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corscore import Analyzer, Exchange
from corscore.cookies import (
    FETCH, FORM, NAVIGATION, context, default_path, parse_set_cookie, path_match, refusal,
    registrable, site, site_of_origin, split_url, stored, trustworthy, withholding)
from corscore.reasons import CookieReason as C
from corscore.render import render
from corscore.state import Jars

NOW = 1_000_000.0


@pytest.mark.parametrize("host,want", [
    ("api.example.test", "example.test"),  # unknown TLD: a public suffix
    ("a.b.example.co.uk", "example.co.uk"),
    ("alice.github.io", "alice.github.io"),  # the private section
    ("github.io", None), ("test", None), ("127.0.0.1", None), ("[::1]", None),
    ("localhost", None),
])
def test_registrable_domain(host, want):
    assert registrable(host) == want


@pytest.mark.parametrize("a,b,same", [
    ("http://app.example.test", "https://api.example.test", False),  # schemeful
    ("https://app.example.test", "https://api.example.test:8443", True),  # ports ignored
    ("http://127.0.0.1:1", "http://127.0.0.1:2", True),
    ("https://127.0.0.1:1", "http://127.0.0.1:2", False),
    ("https://alice.github.io", "https://bob.github.io", False),
])
def test_sites(a, b, same):
    assert (site_of_origin(a) == site_of_origin(b)) is same


def test_trustworthy_and_paths():
    assert trustworthy("https", "x.test") and trustworthy("http", "127.0.0.2")
    assert trustworthy("http", "localhost") and not trustworthy("http", "app.example.test")
    assert default_path("/api/v1/login?x=1") == "/api/v1" and default_path("/login") == "/"
    assert path_match("/admin/x", "/admin") and not path_match("/adminx", "/admin")
    assert split_url("https://[::1]:8443/p?q#f") == ("https", "[::1]", "/p?q")


def ctx(url="https://api.example.test/k/set", kind=NAVIGATION, origin=None, referer=None,
        fetch_site=None):
    scheme, host, path = split_url(url)
    return context(scheme, host, path, kind, origin, referer, fetch_site)


@pytest.mark.parametrize("line,url,kind,origin,want", [
    ("a=1; SameSite=None", "https://api.example.test/s", NAVIGATION, None, [C.SameSiteNoneInsecure]),
    ("a=1; Secure", "http://app.example.test/s", NAVIGATION, None, [C.SecureOnly]),
    ("a=1; Secure; SameSite=None", "http://127.0.0.1:9/s", NAVIGATION, None, []),
    ("a=1; Domain=other.test", "https://api.example.test/s", NAVIGATION, None, [C.InvalidDomain]),
    ("a=1; Domain=sub.api.example.test", "https://api.example.test/", NAVIGATION, None,
     [C.InvalidDomain]),
    ("a=1; Domain=test", "https://api.example.test/", NAVIGATION, None, [C.InvalidDomain]),
    ("a=1; Domain=github.io", "https://alice.github.io/", NAVIGATION, None, [C.InvalidDomain]),
    ("a=1; Domain=.example.test", "https://api.example.test/", NAVIGATION, None, []),
    ("a=1; Domain=127.0.0.1", "http://127.0.0.1:9/", NAVIGATION, None, []),
    ("a=1; Domain=0.0.1", "http://127.0.0.1:9/", NAVIGATION, None, [C.InvalidDomain]),
    ("__Host-a=1; Path=/", "https://api.example.test/", NAVIGATION, None, [C.InvalidPrefix]),
    ("__Host-a=1; Secure; Path=/x", "https://api.example.test/", NAVIGATION, None, [C.InvalidPrefix]),
    ("__Secure-a=1", "https://api.example.test/", NAVIGATION, None, [C.InvalidPrefix]),
    ("__Host-a=1; Secure; Path=/", "https://api.example.test/", NAVIGATION, None, []),
    ("a=" + "v" * 4096, "https://api.example.test/", NAVIGATION, None,
     [C.NameValuePairExceedsMaxSize]),
    ("a=" + "v" * 4095, "https://api.example.test/", NAVIGATION, None, []),
    ("a=1; Partitioned", "https://api.example.test/", NAVIGATION, None, [C.PartitionedNotSecure]),
    # a cross-site subresource, third-party cookies blocked
    ("a=1; SameSite=Lax", "https://api.example.test/", FETCH, "https://app.other.test",
     [C.UserPreferences]),
    ("a=1; SameSite=None; Secure", "https://api.example.test/", FETCH, "https://app.other.test",
     [C.UserPreferences]),
    ("a=1; SameSite=None; Secure; Partitioned", "https://api.example.test/", FETCH,
     "https://app.other.test", []),
    ("a=1; Secure; Partitioned; SameSite=Lax", "https://api.example.test/", FETCH,
     "https://app.other.test", [C.SchemefulSameSiteLax]),
    ("a=1; Secure; Partitioned", "https://api.example.test/", FETCH, "https://app.other.test",
     [C.SchemefulSameSiteUnspecifiedTreatedAsLax]),
    ("a=1; SameSite=Strict", "https://api.example.test/", FETCH, "https://app.example.test", []),
])
def test_refusal(line, url, kind, origin, want):
    sc = parse_set_cookie(line, NOW)
    assert list(refusal(sc, ctx(url, kind, origin), True)) == want


def test_overwrite_secure_and_deletion():
    sc = parse_set_cookie("sid=2; Path=/", NOW)
    assert refusal(sc, ctx("http://app.example.test/"), True, overwrites_secure=True) == (
        C.OverwriteSecure,)
    assert refusal(sc, ctx("https://app.example.test/"), True, overwrites_secure=True) == ()
    assert parse_set_cookie("a=; Max-Age=0", NOW).expires < NOW
    assert parse_set_cookie("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", NOW).expires < NOW
    assert parse_set_cookie("a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                            NOW).expires == NOW + 60  # Max-Age wins


FOUR = {"l": "SameSite=Lax", "s": "SameSite=Strict", "u": "", "n": "SameSite=None; Secure"}


def _stored(name, attrs, url="https://api.example.test/set", created=NOW):
    c = ctx(url)
    return stored(parse_set_cookie(f"{name}=1; Path=/; {attrs}", created), c, created)


@pytest.mark.parametrize("name,req,blocked,want", [
    # cross-site fetch: SameSite, and UserPreferences while third-party cookies are blocked
    ("l", ctx("https://api.example.test/me", FETCH, "https://app.other.test"), True,
     [C.SchemefulSameSiteLax, C.UserPreferences]),
    ("s", ctx("https://api.example.test/me", FETCH, "https://app.other.test"), True,
     [C.SchemefulSameSiteStrict, C.UserPreferences]),
    ("u", ctx("https://api.example.test/me", FETCH, "https://app.other.test"), True,
     [C.SchemefulSameSiteUnspecifiedTreatedAsLax, C.UserPreferences]),
    ("n", ctx("https://api.example.test/me", FETCH, "https://app.other.test"), True,
     [C.UserPreferences]),
    ("n", ctx("https://api.example.test/me", FETCH, "https://app.other.test"), False, []),
    # same-site: everything goes
    ("s", ctx("https://api.example.test/me", FETCH, "https://app.example.test"), True, []),
    # navigations: Strict only; a cross-site POST: Lax too, unset only while young
    ("s", ctx("https://api.example.test/x", NAVIGATION, None, None, "cross-site"), True,
     [C.SchemefulSameSiteStrict]),
    ("l", ctx("https://api.example.test/x", NAVIGATION, None, None, "cross-site"), True, []),
    ("l", ctx("https://api.example.test/x", FORM, "https://app.other.test", None, "cross-site"),
     True, [C.SchemefulSameSiteLax]),
    ("u", ctx("https://api.example.test/x", FORM, "https://app.other.test", None, "cross-site"),
     True, []),
    # without Sec-Fetch-* (http): the Referer tells the initiator
    ("s", ctx("http://api.example.test/x", NAVIGATION, None, "http://app.other.test"), True,
     [C.SchemefulSameSiteStrict]),
    # redirected back same-site with Origin null: the Referer's site (rule 17)
    ("l", ctx("https://api.example.test/r3", FETCH, "null", "https://app.example.test"), True, []),
    # domain and path
    ("l", ctx("https://www.example.test/x", FETCH, "https://app.example.test"), True,
     [C.DomainMismatch]),
])
def test_withholding(name, req, blocked, want):
    c = _stored(name, FOUR[name])
    assert list(withholding(c, req, blocked, NOW + 1)) == want


def test_form_post_unset_cookie_ages_into_lax():
    c = _stored("u", "")
    req = ctx("https://api.example.test/x", FORM, "https://app.other.test", None, "cross-site")
    assert withholding(c, req, True, NOW + 119) == ()
    assert withholding(c, req, True, NOW + 121) == (C.SchemefulSameSiteUnspecifiedTreatedAsLax,)


def test_partitioned_cookie_is_read_only_under_its_top_level_site():
    set_ctx = ctx("https://api.example.test/login", FETCH, "https://app.other.test")
    c = stored(parse_set_cookie("p=1; Secure; SameSite=None; Partitioned; Path=/", NOW), set_ctx,
               NOW)
    assert c.partition == site("https", "other.test")
    same_top = ctx("https://api.example.test/me", FETCH, "https://app.other.test")
    assert withholding(c, same_top, True, NOW) == ()
    elsewhere = ctx("https://api.example.test/me", FETCH, "https://alice.github.io")
    assert withholding(c, elsewhere, True, NOW) == (C.OtherPartition,)
    assert withholding(c, ctx("https://api.example.test/"), True, NOW) == (C.OtherPartition,)


# -- through the analyzer

def _ex(key, url, req=(), resp=None, status=200, ts=NOW, client="10.0.0.1"):
    return Exchange.of(key=key, method="GET", url=url, request_headers=list(req), status=status,
                       response_headers=list(resp or ()), timestamp=ts, client=client)


NAV = [("sec-fetch-mode", "navigate"), ("sec-fetch-site", "none"), ("user-agent", "UA")]
XFETCH = [("origin", "https://app.other.test"), ("sec-fetch-mode", "cors"),
          ("sec-fetch-site", "cross-site"), ("user-agent", "UA")]


def _run(a, *exchanges):
    return [u for ex in exchanges for u in a.response(ex)]


def test_not_really_cors_a_401_behind_a_withheld_cookie_leads_the_comment():
    a = Analyzer()
    _run(a, _ex("1", "https://api.example.test/set", NAV,
                [("set-cookie", "sid=SECRET-V; SameSite=Lax; Path=/"),
                 ("set-cookie", "p=SECRET-P; Secure; SameSite=None; Partitioned; Path=/")]))
    # the partitioned cookie was set first-party: in this partition only; a cross-site call
    (u,) = _run(a, _ex("2", "https://api.example.test/me", XFETCH + [("cookie", "x=1")],
                       [("access-control-allow-origin", "https://app.other.test"),
                        ("access-control-allow-credentials", "true")], status=401))
    md = render(u.finding, "!", u.cookies)
    assert md["comment"].startswith("Cookie: the browser did not send cookie sid: SameSite=Lax")
    withheld = {n["name"]: n for n in md["cookies"]["withheld"]}
    assert withheld["sid"]["reasons"] == ["SchemefulSameSiteLax", "UserPreferences"]
    assert "if" not in withheld["sid"]  # a cookie went with it: credentials are certain
    assert withheld["p"]["reasons"] == ["OtherPartition"]
    assert "SECRET" not in repr(md)


def test_omitted_credentials_are_not_withheld_cookies():
    """A cookie the browser would have sent is missing: the page sent no credentials, and
    nothing is claimed withheld."""
    a = Analyzer()
    _run(a, _ex("1", "https://api.example.test/set", NAV,
                [("set-cookie", "ok=1; SameSite=None; Secure; Path=/"),
                 ("set-cookie", "lax=1; SameSite=Lax; Path=/")]))
    a.state.jars.peek("10.0.0.1 UA").third_party_allowed = True
    (u,) = _run(a, _ex("2", "https://api.example.test/me", XFETCH,
                       [("access-control-allow-origin", "*")]))
    assert u.cookies is None


def test_third_party_cookies_allowed_once_seen_sent():
    a = Analyzer()
    _run(a, _ex("1", "https://api.example.test/set", NAV,
                [("set-cookie", "n=1; SameSite=None; Secure; Path=/")]))
    _run(a, _ex("2", "https://api.example.test/me", XFETCH + [("cookie", "n=1")]))
    assert a.state.jars.peek("10.0.0.1 UA").third_party_allowed
    (u,) = _run(a, _ex("3", "https://api.example.test/login", XFETCH + [("cookie", "n=1")],
                       [("set-cookie", "m=1; SameSite=None; Secure; Path=/")]))
    assert u.cookies is None  # stored: third-party cookies are allowed in this client


def test_a_sanitized_capture_gets_one_line():
    a = Analyzer()
    for i in range(5):
        _run(a, _ex(str(i), "https://api.example.test/me", XFETCH,
                    [("access-control-allow-origin", "https://app.other.test"),
                     ("access-control-allow-credentials", "true")]))
    assert "5 responses allow credentials" in a.sanitized()
    _run(a, _ex("9", "https://api.example.test/me", XFETCH + [("cookie", "a=1")]))
    assert a.sanitized() is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30), st.sampled_from(
    ["", "; Secure", "; SameSite=None", "; Domain=example.test", "; Path=/x", "; Max-Age=0",
     "; Partitioned; Secure; SameSite=None", "; HttpOnly; SameSite=Strict"])), max_size=6),
    st.sampled_from(["https://api.example.test/a/b", "http://127.0.0.1:9/x",
                     "http://app.example.test/"]))
def test_no_cookie_value_is_ever_held(cookies, url):
    """Whatever the lines, the core keeps names and attributes: never a value."""
    marker = "VALUE-7f3"
    lines = [("set-cookie", f"{n}={marker}{v}{attrs}") for n, v, attrs in cookies]
    a = Analyzer()
    for u in _run(a, _ex("1", url, NAV, lines), _ex("2", url, XFETCH + [("cookie", f"x={marker}")])):
        assert marker not in repr(u) and marker not in repr(render(u.finding, "", u.cookies))
    for jar in a.state.jars.clients():  # (the ledger itself)
        assert marker not in repr(jar.all())


def test_the_ledger_stays_bounded():
    """A million Set-Cookie lines from thousands of clients: the ledger keeps at most its
    caps (clients, domains a client, cookies a domain), and idle clients age out."""
    jars = Jars(cap=256, idle=3600.0)
    c = ctx("https://api.example.test/s")
    sc = [parse_set_cookie(f"c{i}=1; Path=/", NOW) for i in range(100)]
    lines = 0
    for client in range(5000):
        jar = jars.get(f"10.0.{client // 256}.{client % 256} UA", NOW + client)
        for i in range(200):
            jar.put(f"d{i % 70}.test", stored(sc[i % 100], c, NOW), NOW + client)
            lines += 1
    assert lines == 1_000_000
    assert len(jars) == 256
    assert max(len(j) for j in jars.clients()) <= 64 * 64
    jars.get("late", NOW + 5000 + 7200)
    assert len(jars) == 1  # the others were idle for over an hour
