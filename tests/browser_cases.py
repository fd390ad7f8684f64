"""The browser suite's case matrix: data, not code.

Each case names what the page does (fetch or XHR, credentials mode, method, headers,
whether a cookie is stored for the API) and what the servers answer at each step.
Step keys are ``"<server>:<path>"`` (``same`` = API on the page's site, other port;
``cross`` = API on 127.0.0.2, another site), prefixed with ``OPTIONS `` for the
preflight answer. Header values may use ``{origin}`` (the page's origin); a Location
may name a step (``same:b``) and ``user:pw@same:b`` adds userinfo. ``reflect`` echoes
the request's Origin (``null`` after a tainting redirect).

The expected outcome is NOT written here: the browser decides, the test compares the
addon with it. ``decidable=False`` marks cases no proxy can decide from the wire
(credentials: "include" with no cookie to send); there the addon's ``if_credentialed``
hint must name the browser's reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    reflect: bool = False
    body: bytes | None = None  # default: b"payload:<case id>"


@dataclass(frozen=True)
class Case:
    id: str
    steps: dict[str, Step]
    start: str = "same:a"
    client: str = "fetch"  # or "xhr"
    credentials: str = "include"  # fetch: include | same-origin | omit; xhr: include = withCredentials
    cookie: bool = True  # a cookie stored for the API host before the request
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    read_header: str | None = None  # JS reads this response header
    decidable: bool = True
    why: str = ""
    fixable: bool = True  # False: no server change can make it readable (why says so)


ORIGIN = ("Access-Control-Allow-Origin", "{origin}")
ACAC = ("Access-Control-Allow-Credentials", "true")


def acao(v: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Origin", v)


def acac(v: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Credentials", v)


def acam(v: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Methods", v)


def acah(v: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Headers", v)


def ok(*extra: tuple[str, str], status: int = 200) -> Step:
    return Step(status, (ORIGIN, ACAC, *extra))


def resp(*headers: tuple[str, str], status: int = 200, body: bytes | None = None) -> Step:
    return Step(status, headers, body=body)


def simple(id: str, step: Step, **kw) -> Case:
    return Case(id, {"same:a": step}, **kw)


def put(id: str, preflight: Step, actual: Step | None = None, **kw) -> Case:
    kw.setdefault("method", "PUT")
    return Case(id, {"OPTIONS same:a": preflight, "same:a": actual or ok()}, **kw)


JSON = (("Content-Type", "application/json"),)
BEARER = (("Authorization", "Bearer SECRET-BEARER-5e1"),)
NO_COOKIE = ("credentials: 'include' with no cookie stored: nothing on the wire shows the "
             "credentials mode")

CASES: list[Case] = [
    # --- the CORS check on the actual response (fetch, include, cookie sent)
    simple("pos-reflect-acac", ok()),
    simple("acao-star", resp(acao("*"), ACAC)),
    simple("acao-missing", resp(ACAC)),
    simple("acao-empty", resp(acao(""), ACAC)),
    simple("acao-two-lines", resp(ORIGIN, ORIGIN, ACAC)),
    simple("acao-comma-list", resp(acao("{origin}, http://127.0.0.9"), ACAC)),
    simple("acao-trailing-slash", resp(acao("{origin}/"), ACAC)),
    simple("acao-other-port", resp(acao("http://127.0.0.1:1"), ACAC)),
    simple("acao-null", resp(acao("null"), ACAC)),
    simple("acao-upper-scheme", resp(acao("HTTP://{origin_hostport}"), ACAC)),
    simple("acao-invalid", resp(acao("foo"), ACAC)),
    simple("acao-star-twice", resp(acao("*"), acao("*"), ACAC)),
    simple("acac-missing", resp(ORIGIN)),
    simple("acac-false", resp(ORIGIN, acac("false"))),
    simple("acac-upper", resp(ORIGIN, acac("TRUE"))),
    simple("acac-one", resp(ORIGIN, acac("1"))),
    simple("acac-two-lines", resp(ORIGIN, ACAC, ACAC)),
    simple("acac-padded", resp(ORIGIN, acac("  true "))),
    simple("status-500-cors-ok", ok(status=500)),
    simple("status-404-cors-ok", ok(status=404)),
    simple("status-404-nocors", resp(status=404)),
    simple("reflect-server", Step(200, (ACAC,), reflect=True)),
    # --- XHR withCredentials
    simple("xhr-pos", ok(), client="xhr"),
    simple("xhr-star", resp(acao("*"), ACAC), client="xhr"),
    simple("xhr-acac-missing", resp(ORIGIN), client="xhr"),
    simple("xhr-acao-missing", resp(ACAC), client="xhr"),
    simple("xhr-nocreds-star", resp(acao("*")), client="xhr", credentials="omit"),
    simple("xhr-nocreds-noacac", resp(ORIGIN), client="xhr", credentials="omit"),
    # --- other credentials modes: the cookie stays home, ACAC is not needed
    simple("omit-star", resp(acao("*")), credentials="omit"),
    simple("omit-reflect-noacac", resp(ORIGIN), credentials="omit"),
    simple("omit-acac-false", resp(ORIGIN, acac("false")), credentials="omit"),
    simple("same-origin-star", resp(acao("*")), credentials="same-origin"),
    simple("omit-missing", resp(), credentials="omit"),
    # --- include without anything to send: undecidable on the wire, hinted
    simple("nocookie-star", resp(acao("*")), cookie=False, decidable=False, why=NO_COOKIE),
    simple("nocookie-acac-missing", resp(ORIGIN), cookie=False, decidable=False, why=NO_COOKIE),
    simple("nocookie-pos", ok(), cookie=False),
    # --- cross-site API: the Lax cookie is not sent
    Case("cross-lax-star", {"cross:a": resp(acao("*"))}, start="cross:a", decidable=False,
         why="the SameSite=Lax cookie is not sent cross-site, so the wire shows no credentials"),
    Case("cross-lax-noacac", {"cross:a": resp(ORIGIN)}, start="cross:a", decidable=False,
         why="the SameSite=Lax cookie is not sent cross-site, so the wire shows no credentials"),
    Case("cross-pos", {"cross:a": ok()}, start="cross:a"),
    Case("cross-omit-star", {"cross:a": resp(acao("*"))}, start="cross:a", credentials="omit"),
    # --- preflights (PUT unless said)
    put("pf-ok", ok(acam("PUT"))),
    put("pf-status-403", ok(acam("PUT"), status=403)),
    put("pf-status-500", ok(acam("PUT"), status=500)),
    put("pf-status-301-nolocation", ok(acam("PUT"), status=301)),
    put("pf-redirect-302", ok(acam("PUT"), ("Location", "same:b"), status=302)),
    put("pf-no-acam", ok()),
    put("pf-acam-star-include", ok(acam("*"))),
    put("pf-acam-star-omit", resp(acao("*"), acam("*")), resp(acao("*")), credentials="omit"),
    put("pf-acam-lower", ok(acam("put"))),
    put("pf-patch-lower", ok(acam("PATCH")), method="patch"),
    put("pf-delete-lower", ok(acam("DELETE")), method="delete"),
    put("pf-acac-missing", resp(ORIGIN, acam("PUT"))),
    put("pf-acac-missing-nocookie", resp(ORIGIN, acam("PUT")), cookie=False),
    put("pf-acac-false", resp(ORIGIN, acac("false"), acam("PUT"))),
    put("pf-acao-star", resp(acao("*"), ACAC, acam("PUT"))),
    put("pf-acao-missing", resp(ACAC, acam("PUT"))),
    put("pf-acao-mismatch", resp(acao("{origin}/"), ACAC, acam("PUT"))),
    put("pf-acao-two", resp(ORIGIN, ORIGIN, ACAC, acam("PUT"))),
    put("pf-acao-invalid", resp(acao("foo"), ACAC, acam("PUT"))),
    put("pf-404-nocors", resp(status=404)),
    put("pf-good-actual-noacac", ok(acam("PUT")), resp(ORIGIN)),
    put("pf-good-actual-star", ok(acam("PUT")), resp(acao("*"), ACAC)),
    put("pf-put-omit-noacac", resp(ORIGIN, acam("PUT")), resp(ORIGIN), credentials="omit"),
    put("pf-acam-parse", ok(acam("PUT DELETE"))),
    put("pf-header-missing", ok(), method="GET", headers=(("X-Custom", "1"),)),
    put("pf-header-listed", ok(acah("X-Custom")), method="GET", headers=(("X-Custom", "1"),)),
    put("pf-header-listed-case", ok(acah("x-CUSTOM")), method="GET",
        headers=(("X-Custom", "1"),)),
    put("pf-acah-star-include", ok(acah("*")), method="GET", headers=(("X-Custom", "1"),)),
    put("pf-acah-star-omit", resp(acao("*"), acah("*")), resp(acao("*")), method="GET",
        headers=(("X-Custom", "1"),), credentials="omit"),
    put("pf-acah-parse", ok(acah("x-custom x-other")), method="GET",
        headers=(("X-Custom", "1"),)),
    put("pf-json-post", ok(), method="POST", headers=(("Content-Type", "application/json"),),
        body='{"a": 1}'),
    put("pf-authz-star-omit", resp(acao("*"), acah("*")), resp(acao("*")), method="GET",
        headers=(("Authorization", "Bearer SECRET-BEARER-5e1"),), credentials="omit"),
    put("pf-authz-star-include", ok(acah("*")), method="GET",
        headers=(("Authorization", "Bearer SECRET-BEARER-5e1"),)),
    put("pf-authz-listed", ok(acah("authorization")), method="GET",
        headers=(("Authorization", "Bearer SECRET-BEARER-5e1"),)),
    put("pf-xhr-noacac", resp(ORIGIN, acam("PUT")), client="xhr"),
    simple("simple-post-text", resp(ORIGIN), method="POST",
           headers=(("Content-Type", "text/plain"),), body="x"),
    # --- redirects
    Case("rd-same-ok", {"same:a": ok(("Location", "same:b"), status=302), "same:b": ok()}),
    Case("rd-same-nocors", {"same:a": resp(("Location", "same:b"), status=302), "same:b": ok()}),
    Case("rd-same-noacac", {"same:a": resp(ORIGIN, ("Location", "same:b"), status=302),
                            "same:b": ok()}),
    Case("rd-cross-null-ok", {"same:a": ok(("Location", "cross:b"), status=302),
                              "cross:b": resp(acao("null"), ACAC)}),
    Case("rd-cross-reflect", {"same:a": ok(("Location", "cross:b"), status=302),
                              "cross:b": Step(200, (ACAC,), reflect=True)}),
    Case("rd-cross-page-origin", {"same:a": ok(("Location", "cross:b"), status=302),
                                  "cross:b": ok()}),
    Case("rd-cross-star", {"same:a": ok(("Location", "cross:b"), status=302),
                           "cross:b": resp(acao("*"), ACAC)}),
    Case("rd-cross-final-noacac", {"same:a": ok(("Location", "cross:b"), status=302),
                                   "cross:b": resp(acao("null"))}),
    Case("rd-userinfo", {"same:a": ok(("Location", "user:pw@same:b"), status=302),
                         "same:b": ok()}),
    Case("rd-cross-omit-star", {"same:a": resp(acao("*"), ("Location", "cross:b"), status=302),
                                "cross:b": resp(acao("*"))}, credentials="omit"),
    # --- Authorization set by the page is dropped on a cross-origin redirect: no 2nd preflight
    Case("rd-authz-cross-omit", {
        "OPTIONS same:a": resp(acao("*"), acah("authorization")),
        "same:a": resp(acao("*"), ("Location", "cross:b"), status=302),
        "cross:b": resp(acao("*"))}, credentials="omit",
        headers=(("Authorization", "Bearer SECRET-BEARER-5e1"),)),
    Case("rd-authz-cross-include", {
        "OPTIONS same:a": ok(acah("authorization")),
        "same:a": ok(("Location", "cross:b"), status=302),
        "cross:b": resp(acao("null"), ACAC)},
        headers=(("Authorization", "Bearer SECRET-BEARER-5e1"),)),
    Case("rd-authz-cross-include-star", {
        "OPTIONS same:a": ok(acah("authorization")),
        "same:a": ok(("Location", "cross:b"), status=302),
        "cross:b": resp(acao("*"), ACAC)},
        headers=(("Authorization", "Bearer SECRET-BEARER-5e1"),)),
    # --- a redirect that keeps the method: a fresh preflight for the next hop
    Case("rd-put-307-same-ok", {
        "OPTIONS same:a": ok(acam("PUT")), "same:a": ok(("Location", "same:b"), status=307),
        "OPTIONS same:b": ok(acam("PUT")), "same:b": ok()}, method="PUT"),
    Case("rd-put-307-same-pf-noacac", {
        "OPTIONS same:a": ok(acam("PUT")), "same:a": ok(("Location", "same:b"), status=307),
        "OPTIONS same:b": resp(ORIGIN, acam("PUT")), "same:b": ok()}, method="PUT"),
    Case("rd-put-307-cross-ok", {
        "OPTIONS same:a": ok(acam("PUT")), "same:a": ok(("Location", "cross:b"), status=307),
        "OPTIONS cross:b": Step(204, (ACAC, acam("PUT")), reflect=True),
        "cross:b": Step(200, (ACAC,), reflect=True)}, method="PUT"),
    Case("rd-put-307-cross-pf-origin", {
        "OPTIONS same:a": ok(acam("PUT")), "same:a": ok(("Location", "cross:b"), status=307),
        "OPTIONS cross:b": ok(acam("PUT")), "cross:b": ok()}, method="PUT"),
    # --- Access-Control-Expose-Headers: the body is readable, is the header?
    simple("aceh-star-include", ok(("X-Custom", "v"), ("Access-Control-Expose-Headers", "*")),
           read_header="X-Custom"),
    simple("aceh-star-omit", resp(acao("*"), ("X-Custom", "v"),
                                  ("Access-Control-Expose-Headers", "*")),
           credentials="omit", read_header="X-Custom"),
    simple("aceh-named-include", ok(("X-Custom", "v"),
                                    ("Access-Control-Expose-Headers", "X-Custom")),
           read_header="X-Custom"),
    simple("aceh-star-and-named", ok(("X-Custom", "v"), ("X-Other", "w"),
                                     ("Access-Control-Expose-Headers", "*, X-Other")),
           read_header="X-Custom"),
    simple("aceh-malformed", ok(("X-Custom", "v"),
                                ("Access-Control-Expose-Headers", "X-Custom, x y")),
           read_header="X-Custom"),
    simple("aceh-missing-total", ok(("X-Total-Count", "42")), read_header="X-Total-Count"),
    simple("aceh-set-cookie", ok(("Set-Cookie", "seen=1; Path=/"),
                                 ("Access-Control-Expose-Headers", "Set-Cookie")),
           read_header="Set-Cookie", fixable=False,
           why="Set-Cookie is never readable from JavaScript, by design"),
    # --- what real servers and CORS middleware send (shared/middleware-observed.md)
    put("auth-preflight-401", resp(("WWW-Authenticate", "Bearer"), status=401),
        resp(("WWW-Authenticate", "Bearer"), status=401), method="POST", headers=JSON,
        body='{"a": 1}'),
    simple("auth-actual-401", resp(("WWW-Authenticate", "Bearer"), status=401)),
    simple("error-500-html", resp(("Content-Type", "text/html"), status=500)),
    simple("allowlist-missing", resp(ACAC, ("Vary", "Origin"))),
    put("pf-allowlist-missing", resp(ACAC, ("Vary", "Origin"), acam("PUT")),
        resp(ACAC, ("Vary", "Origin"))),
    Case("rd-login-cross", {"same:a": ok(("Location", "cross:login"), status=302),
                            "cross:login": resp(("Content-Type", "text/html"))}),
    Case("rd-login-cross-omit", {"same:a": resp(acao("*"), ("Location", "cross:login"),
                                                 status=302),
                                 "cross:login": resp(("Content-Type", "text/html"))},
         credentials="omit"),
    put("pf-acah-no-authz", ok(acah("content-type")), method="GET", headers=BEARER),
    put("pf-acah-no-ctype", ok(acah("authorization")), method="POST",
        headers=(*JSON, *BEARER), body="{}"),
    put("pf-starlette-400", resp(ORIGIN, ACAC, ("Vary", "Origin"), ("Server", "uvicorn"),
                                 ("Content-Type", "text/plain; charset=utf-8"),
                                 status=400, body=b"Disallowed CORS headers"),
        resp(ORIGIN, ACAC, ("Vary", "Origin"), ("Server", "uvicorn")), method="PATCH",
        headers=JSON, body="{}"),
    put("pf-aiohttp-403", resp(("Content-Type", "text/plain; charset=utf-8"),
                               ("Server", "Python/3.12 aiohttp/3.14.5"), status=403,
                               body=b"CORS preflight request failed: headers are not allowed: "
                                    b"CONTENT-TYPE"),
        resp(ORIGIN, ("Server", "Python/3.12 aiohttp/3.14.5")), method="POST", headers=JSON,
        body="{}"),
    simple("express-star-creds", resp(acao("*"), ACAC, ("X-Powered-By", "Express"))),
    put("pf-all-wrong", resp(acam("GET"), acah("x-other"), status=403),
        method="DELETE", headers=(("X-Custom", "1"),)),
]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
