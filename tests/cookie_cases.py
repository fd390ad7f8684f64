"""The cookie cases of the browser suite (test_browser_cookies.py): each a few steps in one
fresh Chromium context, over https and http, on host names mapped to loopback by the
test proxy (``loopback_only.py``), each backed by a rule of ../shared/cookies-observed.md.

URLs are written without the case's path prefix: the runner puts every path under
``/k/<case id>/``; ``{p}`` in a header stands for that prefix (a cookie's Path). ``LOOP``
stands for the plain server's loopback address (127.0.0.1:PORT). A URL whose path is
``/page`` serves an empty HTML page; every other URL answers 200 with CORS headers that
let the page read it with credentials (the reflected Origin and ACAC true), unless the
case routes it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class R:
    """A routed response: status, headers (``{p}``: the case's path prefix), CORS headers
    for a credentialed read (``cors``)."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    cors: bool = True


@dataclass
class CookieCase:
    id: str
    rule: str  # the rules of cookies-observed.md it checks
    actions: list[tuple]  # ("goto", url) | ("fetch", url, credentials[, method]) |
    #                       ("xhr", url, with_credentials) | ("nav", url) | ("form", url)
    routes: dict[str, R] = field(default_factory=dict)  # "[METHOD ]url" -> R


def sc(*lines: str) -> list[tuple[str, str]]:
    return [("Set-Cookie", line) for line in lines]


API, APP, OTHER = "https://api.example.test", "https://app.example.test", "https://api.other.test"
ALICE, BOB = "https://alice.github.io", "https://bob.github.io"
HAPI, HAPP, HOTHER = "http://api.example.test", "http://app.example.test", "http://app.other.test"
LOOP = "http://LOOP"

FOUR = sc("l=1; SameSite=Lax; Path=/", "s=1; SameSite=Strict; Path=/", "u=1; Path=/",
          "n=1; SameSite=None; Secure; Path=/")


def case(id, rule, actions, routes=None) -> CookieCase:
    return CookieCase(id, rule, actions, routes or {})


def _set(url, *lines):  # a first-party visit that sets cookies
    return {url: R(200, sc(*lines), cors=False)}


CASES: list[CookieCase] = [
    # -- A: Set-Cookie lines refused from the line and the URL alone
    case("set-none-insecure", "1", [("goto", API + "/set")], _set(API + "/set", "a=1; SameSite=None")),
    case("set-none-insecure-http", "1", [("goto", HAPI + "/set")],
         _set(HAPI + "/set", "a=1; SameSite=None")),
    case("set-secure-from-http", "2", [("goto", HAPP + "/set")], _set(HAPP + "/set", "a=1; Secure")),
    case("set-secure-on-loopback", "2", [("goto", LOOP + "/set"), ("fetch", LOOP + "/x", "include")],
         _set(LOOP + "/set", "a=1; Secure", "b=1; SameSite=None; Secure", "__Host-c=1; Secure; Path=/",
              "d=1; Secure; SameSite=None; Partitioned")),
    case("set-domain-other", "3", [("goto", API + "/set")], _set(API + "/set", "a=1; Domain=other.test")),
    case("set-domain-narrower", "3", [("goto", API + "/set")],
         _set(API + "/set", "a=1; Domain=sub.api.example.test")),
    case("set-domain-public-suffix", "3", [("goto", API + "/set")], _set(API + "/set", "a=1; Domain=test")),
    case("set-domain-github-io", "3", [("goto", ALICE + "/set")],
         _set(ALICE + "/set", "a=1; Domain=github.io", "b=1; Domain=alice.github.io")),
    case("set-domain-ok", "3 19", [("goto", API + "/set"), ("goto", APP + "/page"),
                                   ("fetch", APP + "/x", "include")],
         _set(API + "/set", "a=1; Domain=example.test; Path=/", "b=1; Domain=.example.test; Path=/")),
    case("set-domain-ip", "3", [("goto", LOOP + "/set")],
         _set(LOOP + "/set", "a=1; Domain=127.0.0.1", "b=1; Domain=0.0.1")),
    case("set-prefixes", "4", [("goto", API + "/set")],
         _set(API + "/set", "__Host-a=1; Path=/", "__Host-b=1; Secure; Domain=api.example.test; Path=/",
              "__Host-c=1; Secure; Path=/x", "__Secure-d=1", "__Host-ok=1; Secure; Path=/",
              "__Secure-ok2=1; Secure")),
    case("set-too-big", "5", [("goto", API + "/set")],
         _set(API + "/set", "a=" + "v" * 4096, "b=" + "v" * 4095)),  # 4097 and 4096 bytes
    case("set-overwrite-secure", "6 19", [("goto", APP + "/set1"), ("goto", HAPP + "/set2")],
         {**_set(APP + "/set1", "sid=1; Secure; Path=/"), **_set(HAPP + "/set2", "sid=2; Path=/")}),
    case("set-delete", "7", [("goto", API + "/set"), ("goto", API + "/del"), ("goto", API + "/after")],
         {**_set(API + "/set", "a=1; Path=/", "b=1; Path=/", "c=1; Path=/"),
          **_set(API + "/del", "a=; Max-Age=0; Path=/", "b=; Max-Age=0; Path=/elsewhere",
                 "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/")}),
    case("set-partitioned-not-secure", "8", [("goto", API + "/set")],
         _set(API + "/set", "a=1; Partitioned; SameSite=Lax", "b=1; Partitioned; Secure")),
    # -- B: depending on the request
    case("set-on-preflight", "9", [("goto", APP + "/page"), ("fetch", API + "/x", "include", "PUT"),
                                   ("fetch", API + "/y", "include")],
         {"OPTIONS " + API + "/x": R(204, sc("pf=1; SameSite=None; Secure; Path=/") + [
             ("Access-Control-Allow-Methods", "PUT")])}),
    case("set-cors-fails-still-stored", "10", [("goto", APP + "/page"),
                                               ("fetch", API + "/login", "include"),
                                               ("fetch", API + "/me", "include")],
         {API + "/login": R(200, sc("sid=1; Path=/") + [("Access-Control-Allow-Origin", APP)],
                            cors=False)}),
    case("set-omit-not-stored", "9 18", [("goto", APP + "/page"), ("fetch", API + "/login", "omit"),
                                         ("fetch", API + "/me", "include")],
         {API + "/login": R(200, sc("sid=1; SameSite=None; Secure; Path=/"))}),
    case("set-cross-site-blocked", "11", [("goto", OTHER + "/page"),
                                          ("fetch", API + "/login", "include")],
         {API + "/login": R(200, sc("l=1; SameSite=Lax; Path=/", "n=1; SameSite=None; Secure; Path=/",
                                    "u=1; Path=/"))}),
    case("set-cross-site-partitioned", "11 15", [("goto", OTHER + "/page"),
                                                 ("fetch", API + "/login", "include"),
                                                 ("fetch", API + "/me", "include")],
         {API + "/login": R(200, sc("p=1; SameSite=None; Secure; Partitioned; Path=/",
                                    "pl=1; Secure; Partitioned; SameSite=Lax; Path=/",
                                    "pu=1; Secure; Partitioned; Path=/"))}),
    case("set-same-site-strict", "11 13", [("goto", APP + "/page"), ("fetch", API + "/login", "include"),
                                           ("fetch", API + "/me", "include")],
         {API + "/login": R(200, sc("s=1; SameSite=Strict; Path=/"))}),
    case("set-on-redirect-hop", "10", [("goto", APP + "/page"), ("fetch", API + "/r1", "include")],
         {API + "/r1": R(302, sc("h=1; Path=/") + [("Location", "{p}/r2")])}),
    # -- C: cookies not sent
    case("xsite-fetch-include", "14 16", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                          ("fetch", API + "/me", "include")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-fetch-omit", "18", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                    ("fetch", API + "/me", "omit")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-xhr-with-credentials", "14", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                              ("xhr", API + "/me", True)],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-xhr-without", "18", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                     ("xhr", API + "/me", False)],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-401", "14", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                             ("fetch", API + "/me", "include")],
         {API + "/set": R(200, FOUR, cors=False), API + "/me": R(401)}),
    case("xsite-schemeful", "12 14", [("goto", API + "/set"), ("goto", HAPP + "/page"),
                                      ("fetch", API + "/me", "include")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-github-io", "12 14", [("goto", BOB + "/set"), ("goto", ALICE + "/page"),
                                      ("fetch", BOB + "/me", "include")],
         {BOB + "/set": R(200, FOUR, cors=False)}),
    case("samesite-fetch-all-sent", "13", [("goto", API + "/set"), ("goto", APP + "/page"),
                                           ("fetch", API + "/me", "include")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("samesite-put-preflighted", "13", [("goto", API + "/set"), ("goto", APP + "/page"),
                                            ("fetch", API + "/me", "include", "PUT")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-put-preflighted", "13 14", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                            ("fetch", API + "/me", "include", "PUT")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("domain-mismatch", "19", [("goto", API + "/set"), ("goto", APP + "/page"),
                                   ("fetch", "https://www.example.test/x", "include")],
         _set(API + "/set", "h=1; Path=/")),
    case("domain-cookie-subdomains", "19", [("goto", API + "/set"), ("goto", APP + "/page"),
                                            ("fetch", "https://www.example.test/x", "include")],
         _set(API + "/set", "d=1; Domain=example.test; Path=/")),
    case("not-on-path", "19", [("goto", API + "/set"), ("goto", API + "/admin/x"),
                               ("goto", API + "/adminx")],
         _set(API + "/set", "a=1; Path={p}/admin")),
    case("default-path", "19", [("goto", API + "/api/v1/login"), ("goto", API + "/api/v1/me"),
                                ("goto", API + "/other")],
         _set(API + "/api/v1/login", "a=1")),
    case("secure-to-http", "19", [("goto", APP + "/set"), ("goto", HAPP + "/page")],
         _set(APP + "/set", "s=1; Secure; Path=/")),
    case("secure-to-loopback", "19", [("goto", LOOP + "/set"), ("goto", LOOP + "/page"),
                                      ("fetch", LOOP + "/x", "include")],
         _set(LOOP + "/set", "s=1; Secure; Path=/")),
    case("partition-other-top", "15", [("goto", OTHER + "/page"), ("fetch", API + "/login", "include"),
                                       ("goto", ALICE + "/page"), ("fetch", API + "/me", "include")],
         {API + "/login": R(200, sc("p=1; SameSite=None; Secure; Partitioned; Path=/"))}),
    case("partition-first-party", "15", [("goto", OTHER + "/page"), ("fetch", API + "/login", "include"),
                                         ("goto", API + "/page")],
         {API + "/login": R(200, sc("p=1; SameSite=None; Secure; Partitioned; Path=/"))}),
    case("partition-sent-lax-not", "14 15", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                             ("fetch", API + "/login", "include"),
                                             ("fetch", API + "/me", "include")],
         {API + "/set": R(200, sc("l=1; SameSite=Lax; Path=/"), cors=False),
          API + "/login": R(200, sc("p=1; SameSite=None; Secure; Partitioned; Path=/"))}),
    case("redirect-xsite-and-back", "17", [("goto", API + "/set"), ("goto", APP + "/page"),
                                           ("fetch", API + "/r1", "include")],
         {API + "/set": R(200, sc("l=1; SameSite=Lax; Path=/"), cors=False),
          API + "/r1": R(302, [("Location", OTHER + "{p}/r2")]),
          OTHER + "/r2": R(302, [("Location", API + "{p}/r3")])}),
    case("redirect-samesite-to-xsite", "17", [("goto", OTHER + "/set"), ("goto", APP + "/page"),
                                              ("fetch", API + "/r1", "include")],
         {OTHER + "/set": R(200, sc("n=1; SameSite=None; Secure; Path=/"), cors=False),
          API + "/r1": R(302, [("Location", OTHER + "{p}/r2")])}),
    case("login-redirect-away", "14", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                       ("fetch", API + "/me", "include")],
         {API + "/set": R(200, sc("l=1; SameSite=Lax; Path=/"), cors=False),
          API + "/me": R(302, [("Location", "https://login.other.test{p}/login")])}),
    case("nav-xsite-get", "20", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                 ("nav", API + "/landing")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("form-xsite-post", "20", [("goto", API + "/set"), ("goto", OTHER + "/page"),
                                   ("form", API + "/submit")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("nav-samesite", "20", [("goto", API + "/set"), ("goto", APP + "/page"),
                                ("nav", API + "/landing")],
         {API + "/set": R(200, FOUR, cors=False)}),
    case("xsite-http-no-sec-fetch", "14 (no Sec-Fetch-* on http)",
         [("goto", HAPI + "/set"), ("goto", HOTHER + "/page"), ("fetch", HAPI + "/me", "include")],
         _set(HAPI + "/set", "l=1; SameSite=Lax; Path=/", "u=1; Path=/")),
    case("nav-xsite-http", "20 (no Sec-Fetch-* on http)",
         [("goto", HAPI + "/set"), ("goto", HOTHER + "/page"), ("nav", HAPI + "/landing")],
         _set(HAPI + "/set", "s=1; SameSite=Strict; Path=/", "l=1; SameSite=Lax; Path=/")),
    case("https-page-to-loopback-http", "12 21", [("goto", LOOP + "/set"), ("goto", APP + "/page"),
                                                  ("fetch", LOOP + "/x", "include")],
         _set(LOOP + "/set", "l=1; SameSite=Lax; Path=/")),
    case("loopback-same-origin", "13", [("goto", LOOP + "/set"), ("goto", LOOP + "/page"),
                                        ("fetch", LOOP + "/x", "include")],
         _set(LOOP + "/set", "l=1; SameSite=Lax; Path=/", "s=1; SameSite=Strict; Path=/")),
    case("xsite-sent-one-blocked-other", "14 16", [("goto", OTHER + "/page"),
                                                   ("fetch", API + "/login", "include"),
                                                   ("goto", API + "/set"), ("goto", OTHER + "/page"),
                                                   ("fetch", API + "/me", "include")],
         {API + "/login": R(200, sc("p=1; SameSite=None; Secure; Partitioned; Path=/")),
          API + "/set": R(200, sc("s=1; SameSite=Strict; Path=/"), cors=False)}),
    case("samesite-github-io", "12", [("goto", ALICE + "/set"), ("goto", ALICE + "/page"),
                                      ("fetch", ALICE + "/x", "include")],
         _set(ALICE + "/set", "l=1; SameSite=Lax; Path=/")),
]
