"""The remedy: every change to the server's responses that makes the browser hand the
whole request to JavaScript, in one go (not only the check the browser reported).

The browser stops at the first failing check of the first failing response; fixing that
one alone lets the next one fail (the actual request after a fixed preflight, the next
redirect hop, the status checked after the headers, a method or header missing from the
same preflight, a header the page reads but may not). So a remedy lists, for each
response of the request's chain that must change, every line it needs: a ``Step``.

Credentials: ``YES`` when the wire (or the chain) shows them; ``MAYBE`` when it shows
none, since a page may still send ``credentials: "include"`` with nothing to send. Lines
needed only with credentials then come as steps of their own, ``when="credentialed"``.

Never an unsafe line: no ``Access-Control-Allow-Origin: null`` (a cross-origin redirect
makes the browser send ``Origin: null``; the fix is then not to redirect), no ``*`` with
credentials, never "reflect any origin": the lines name the page's origin only.
Pure functions over header values (str), memoized on their arguments.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from .http import (
    FORBIDDEN_RESPONSE_HEADERS,
    SAFELISTED_METHODS,
    location_userinfo,
    origin_of,
    parse_token_list,
    printable,
    redact_url,
    strip_userinfo,
)

YES, MAYBE = "yes", "maybe"
CREDENTIALED = "credentialed"
ACAO, ACAC = "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"
ACAM, ACAH, ACEH = ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                    "Access-Control-Expose-Headers")
STATUS_INSTEAD_OF_REDIRECT = 401

# x- headers servers add for themselves, not for the page: never worth naming.
_SERVER_X = frozenset(("x-powered-by", "x-content-type-options", "x-frame-options",
                       "x-xss-protection", "x-aspnet-version", "x-aspnetmvc-version",
                       "x-runtime", "x-served-by", "x-cache", "x-cache-hits", "x-timer",
                       "x-envoy-upstream-service-time", "x-amz-cf-id", "x-amz-cf-pop"))

TAINT_NOTE = (
    "the request is redirected to another origin, after which the browser sends "
    "'Origin: null', which no safe Access-Control-Allow-Origin matches (never allow null: "
    "every sandboxed iframe and data: page sends it). Do not redirect fetch/XHR across "
    "origins: answer them {status} (a login redirect: let the page navigate to the login "
    "page itself), or have the page call the final URL directly"
)
OPAQUE_NOTE = ("'Origin: null' comes from an opaque origin (a sandboxed iframe, a data: or "
               "file: page, or after a cross-origin redirect): only '*' allows it safely, and "
               "never with credentials; serve the page from a real origin")
STAR_NOTE = ("with credentials, Access-Control-Expose-Headers: * is a literal name, not a "
             "wildcard: list the headers by name")
SET_COOKIE_NOTE = ("Set-Cookie can never be read by JavaScript, whatever "
                   "Access-Control-Expose-Headers says (by design): the browser stores the "
                   "cookie; read it on the server, or send what the page needs in the body")


class Step(NamedTuple):
    """One response to change: the request it answers, and the change."""

    on: str  # "preflight" | "actual" | "redirect"
    method: str  # the request method of the response to change
    url: str  # redacted
    status: int | None = None  # the status to answer with; None: keep it
    set: tuple[str, ...] = ()  # whole header lines; each replaces every line of its name
    remove: tuple[str, ...] = ()  # header names to drop
    when: str | None = None  # CREDENTIALED: needed only when the page sends credentials


class Remedy(NamedTuple):
    steps: tuple[Step, ...] = ()
    complete: bool = True
    why_incomplete: str | None = None
    note: str | None = None
    server_hint: str | None = None
    server_says: str | None = None  # the first line of the server's own explanation


class Chain(NamedTuple):
    """The redirect chain before a hop, as the analyzer saw it."""

    hops: tuple[tuple[str, str], ...]  # (method, redacted URL) of each earlier hop
    taint: tuple[str, str, str] | None = None  # the redirect after which Origin is null:
    #                                            (method, URL, the Origin it was sent with)


def tainted(origin: str, url: str, target: str) -> bool:
    """Whether the request to ``target``, redirected from ``url`` with this Origin, goes
    out with ``Origin: null`` (Fetch: a cross-origin redirect of a request whose origin
    is not the redirecting URL's)."""
    current = origin_of(url)
    return origin == "null" or (origin_of(target) != current and origin != current)


def next_method(method: str, status: int) -> str:
    if (status in (301, 302) and method == "POST") or (status == 303 and method != "HEAD"):
        return "GET"
    return method


def vary_line(vary: str | None) -> str | None:
    """The Vary line that adds Origin to this response's Vary, or None if it has it."""
    tokens = [t.strip() for t in (vary or "").split(",") if t.strip()]
    if any(t == "*" or t.lower() == "origin" for t in tokens):
        return None
    return "Vary: " + ", ".join((*tokens, "Origin"))


def worth_naming(name: str, aceh: str | None) -> bool:
    """A hidden response header worth telling about: one the server tried to expose
    (named in Access-Control-Expose-Headers), or an application's own ``x-`` header.
    ``Date``, ``Server``, ``ETag`` and the like are hidden too, but nobody asks."""
    if name.startswith("x-") and name not in _SERVER_X:
        return True
    return aceh is not None and name in {t.strip(" \t").lower() for t in aceh.split(",")}


def serialized(origin: str) -> bool:
    """Whether an Origin value is what a browser sends: a serialized origin."""
    return origin_of(origin) == origin


def _no_origin(origin: str) -> Remedy:
    return Remedy(complete=False, why_incomplete=(
        f"the request's Origin '{printable(origin, 100)}' is not a serialized origin (a "
        "browser never sends it; a script or a broken client did): no header change applies"))


def _access(origin: str, acao: str | None, acac: str | None, vary: str | None, creds: str,
            known: bool = True) -> tuple[list[str], list[str]]:
    """CheckAccess's lines: (always needed, needed only with credentials). ``known``:
    the response was seen (its Vary is known; otherwise no Vary line is guessed)."""
    main: list[str] = []
    cred: list[str] = []
    if acao != origin:
        into = cred if acao == "*" and creds == MAYBE else main
        into.append(f"{ACAO}: {origin}")
        v = vary_line(vary) if known else None
        if v:
            into.append(v)
    if acac != "true":
        (main if creds == YES else cred).append(f"{ACAC}: true")
    return main, cred


def _joined(name: str, keep: list[str], add: list[str]) -> str:
    return f"{name}: " + ", ".join(dict.fromkeys((*keep, *add)))


def _methods(method: str, acam: str | None, creds: str) -> tuple[list[str], list[str]]:
    listed = parse_token_list(acam)
    if listed is None:  # the list does not parse: the browser refuses any method
        return [f"{ACAM}: {method}"], []
    if method in listed or method.upper() in SAFELISTED_METHODS:
        return [], []
    if "*" in listed and creds == MAYBE:  # * covers it without credentials only
        return [], [_joined(ACAM, listed, [method])]
    return [_joined(ACAM, listed, [method])], []


def _headers(requested: tuple[str, ...], acah: str | None,
             creds: str) -> tuple[list[str], list[str], list[str]]:
    """(lines, lines with credentials, names to remove)."""
    listed = parse_token_list(acah)
    if listed is None:
        if requested:
            return [_joined(ACAH, [], list(requested))], [], []
        return [], [], [ACAH]
    have = {h.lower() for h in listed}
    missing = [n for n in requested if n not in have]
    if not missing:
        return [], [], []
    if "*" in have:
        # * covers them without credentials in Chromium; Authorization is never covered
        # by * in the Fetch standard (Firefox, Safari): it is always listed.
        always = [n for n in missing if n == "authorization"]
        main = [_joined(ACAH, listed, always)] if always else []
        cred = [_joined(ACAH, listed, missing)] if creds == MAYBE else []
        if creds == YES:
            main = [_joined(ACAH, listed, missing)]
        return main, cred, []
    return [_joined(ACAH, listed, missing)], [], []


def _expose(aceh: str | None, names: tuple[str, ...], include: bool) -> list[str]:
    """The Expose-Headers line that lets JavaScript read every header worth naming."""
    listed = parse_token_list(aceh)
    star = listed is not None and "*" in listed and not include
    named = {t.lower() for t in listed or ()}
    unread = [n for n in names if n not in FORBIDDEN_RESPONSE_HEADERS and worth_naming(n, aceh)
              and not star and n not in named]
    if not unread:
        return []
    keep = [t for t in listed or () if t != "*" or not include]
    return [_joined(ACEH, keep, unread)]


def _step(on: str, method: str, url: str, main: list[str], cred: list[str],
          status: int | None = None, remove: tuple[str, ...] = ()) -> list[Step]:
    out = []
    if main or status is not None or remove:
        out.append(Step(on, method, url, status, tuple(main), remove))
    if cred:
        out.append(Step(on, method, url, None, tuple(cred), (), CREDENTIALED))
    return out


def _instead_of_redirect(taint: tuple[str, str, str], creds: str) -> Step:
    method, url, origin = taint
    main, cred = _access(origin, None, None, None, YES, known=False)
    return Step("redirect", method, url, STATUS_INSTEAD_OF_REDIRECT, tuple(main + cred),
                ("Location",), None if creds == YES else CREDENTIALED)


def _earlier_hops(chain: Chain | None, origin: str, creds: str) -> list[Step]:
    """With credentials not certain, each earlier hop must allow them too."""
    if chain is None or creds != MAYBE or origin == "null":
        return []
    return [Step("redirect", m, u, None, (f"{ACAO}: {origin}", f"{ACAC}: true"), (), CREDENTIALED)
            for m, u in chain.hops]


@lru_cache(maxsize=1024)
def for_response(role: str, origin: str, url: str, method: str, status: int,
                 location: str | None, acao: str | None, acac: str | None, vary: str | None,
                 aceh: str | None, names: tuple[str, ...], creds: str, chain: Chain | None,
                 stack: str | None) -> Remedy:
    """The remedy for a CORS response (an actual response or a redirect hop, ``url``
    redacted) JavaScript cannot fully read."""
    if origin == "null":
        return _tainted(role, method, url, acao, aceh, names, creds, chain, stack)
    if not serialized(origin):
        return _no_origin(origin)
    main, cred = _access(origin, acao, acac, vary, creds)
    steps: list[Step] = []
    note = None
    complete, why = True, None
    if role == "redirect" and location is not None:
        if location_userinfo(location):
            location = strip_userinfo(location)
            main.append("Location: " + location)
        try:
            target = urljoin(url, location)
            urlsplit(target)
        except ValueError:
            target = None
        if target is None or origin_of(target) is None:
            complete, why = False, "the Location does not parse: the next hop is unknown"
            steps += _step("redirect", method, url, main, cred)
        elif tainted(origin, url, target):
            taint = (method, url, origin)
            if creds == YES:
                steps.append(_instead_of_redirect(taint, creds))
            else:
                steps += _step("redirect", method, url, main, [])
                steps.append(Step("actual", next_method(method, status), redact_url(target),
                                  None, (f"{ACAO}: *",)))
                steps.append(_instead_of_redirect(taint, creds))
            note = TAINT_NOTE.format(status=f"{STATUS_INSTEAD_OF_REDIRECT} or 403")
        else:
            steps += _step("redirect", method, url, main, cred)
            n_main, n_cred = _access(origin, None, None, None, creds, known=False)
            steps += _step("actual", next_method(method, status), redact_url(target),
                           n_main, n_cred)
    else:
        e_main = _expose(aceh, names, creds == YES)
        e_cred = _expose(aceh, names, True) if creds == MAYBE else []
        steps += _step(role, method, url, main + e_main,
                       cred + (e_cred if e_cred != e_main else []))
        if (e_main or e_cred) and "*" in (parse_token_list(aceh) or ()):
            note = STAR_NOTE
    steps += _earlier_hops(chain, origin, creds)
    if not steps and any(n in FORBIDDEN_RESPONSE_HEADERS and worth_naming(n, aceh) for n in names):
        note = SET_COOKIE_NOTE
    return Remedy(tuple(steps), complete, why, note,
                  server_hint(stack, origin, creds, steps) if stack else None)


def _tainted(role: str, method: str, url: str, acao: str | None, aceh: str | None,
             names: tuple[str, ...], creds: str, chain: Chain | None,
             stack: str | None, preflight: Step | None = None) -> Remedy:
    """A hop sent with ``Origin: null`` after a cross-origin redirect."""
    if chain is None or chain.taint is None or chain.taint[2] == "null":
        # The page's own origin is opaque (a sandboxed iframe, a data: or file: page), or
        # the redirect that made it so was not seen.
        steps: tuple[Step, ...] = ()
        if creds != YES:
            lines = (f"{ACAO}: *",) if acao != "*" else ()
            lines += tuple(_expose(aceh, names, False))
            steps = (preflight,) if preflight is not None else ()
            steps += (Step(role, method, url, None, lines),) if lines else ()
        return Remedy(steps, complete=creds != YES, why_incomplete=None if creds != YES else (
            "the request went out with 'Origin: null' (an opaque page origin, or a redirect "
            "not seen): nothing safe allows it with credentials"), note=OPAQUE_NOTE)
    if not serialized(chain.taint[2]):
        return _no_origin(chain.taint[2])
    steps: list[Step] = []
    if creds != YES:  # without credentials, * matches Origin: null safely
        if preflight is not None:
            steps.append(preflight)
            steps.append(Step("actual", method, url, None, (f"{ACAO}: *",)))
        elif acao != "*":
            steps.append(Step(role, method, url, None,
                              (f"{ACAO}: *", *_expose(aceh, names, False))))
    steps.append(_instead_of_redirect(chain.taint, creds))
    note = TAINT_NOTE.format(status=f"{STATUS_INSTEAD_OF_REDIRECT} or 403")
    return Remedy(tuple(steps), True, None, note,
                  server_hint(stack, chain.taint[2], creds, steps) if stack else None)


@lru_cache(maxsize=512)
def for_preflight(origin: str, method: str, requested: tuple[str, ...], url: str,
                  status: int | None, location: str | None, acao: str | None,
                  acac: str | None, acam: str | None, acah: str | None, vary: str | None,
                  creds: str, chain: Chain | None, stack: str | None,
                  server_says: str | None) -> Remedy:
    """The remedy for a refused preflight: the preflight answered at once with every
    line it lacks, and the actual request it gates (the browser sends it next, with
    this method, URL and headers) allowed too."""
    bad_status = status is None or not 200 <= status < 300
    if origin == "null":
        pre = Step("preflight", "OPTIONS", url, 204 if bad_status else None,
                   (f"{ACAO}: *",
                    *_methods(method, acam, MAYBE)[0], *_headers(requested, acah, MAYBE)[0]),
                   ("Location",) if bad_status and location is not None else ())
        r = _tainted("actual", method, url, None, None, (), creds, chain, stack, pre)
        return r._replace(server_says=server_says)
    if not serialized(origin):
        return _no_origin(origin)._replace(server_says=server_says)
    main, cred = _access(origin, acao, acac, vary, creds)
    m_main, m_cred = _methods(method, acam, creds)
    h_main, h_cred, h_remove = _headers(requested, acah, creds)
    remove = tuple(h_remove) + (("Location",) if bad_status and location is not None else ())
    steps = _step("preflight", "OPTIONS", url, main + m_main + h_main, cred + m_cred + h_cred,
                  204 if bad_status else None, remove)
    a_main, a_cred = _access(origin, None, None, None, creds, known=False)
    steps += _step("actual", method, url, a_main, a_cred)
    steps += _earlier_hops(chain, origin, creds)
    note = None
    if bad_status and status in (401, 403) and acao is None and stack not in _CORS_LIBRARIES:
        note = (f"the preflight was answered {status} without CORS headers: a layer in front "
                "of CORS (authentication, a firewall, a router) refused it. Browsers never send "
                "credentials on a preflight: let the CORS layer answer OPTIONS first")
    return Remedy(tuple(steps), True, None, note,
                  server_hint(stack, origin, creds, steps) if stack else None, server_says)


def only_with_credentials(r: Remedy) -> Remedy:
    """The remedy of a request that passes unless the page sends credentials: every
    step is then needed only with credentials."""
    return r._replace(steps=tuple(s._replace(when=CREDENTIALED) for s in r.steps))


# -- the server's stack, recognised from its own headers and words

_CORS_LIBRARIES = frozenset(("starlette", "aiohttp-cors"))  # recognised by their refusals
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9+/=_.-]{24,}")

def recognise(server: str | None, powered_by: str | None, body: str | None) -> str | None:
    """A stack key when the response says what it is, else None (never a guess)."""
    body = body or ""
    if body.startswith("Disallowed CORS "):
        return "starlette"
    if body.startswith("CORS preflight request failed"):
        return "aiohttp-cors"
    if powered_by and "express" in powered_by.lower():
        return "express"
    s = (server or "").lower()
    if s.startswith("uvicorn"):
        return "uvicorn"
    if "aiohttp" in s:
        return "aiohttp"
    if s.startswith("werkzeug"):
        return "werkzeug"
    return None


def _lists(steps: list[Step]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {ACAM: [], ACAH: [], ACEH: []}
    for s in steps:
        for line in s.set:
            name, _, value = line.partition(": ")
            if name in out:
                out[name] += [v.strip() for v in value.split(",")
                              if v.strip() and v.strip() not in out[name] and v.strip() != "*"]
    return out


def server_hint(stack: str, origin: str, creds: str, steps: list[Step]) -> str | None:
    """One line in the stack's own settings, said as what it is: the evidence first."""
    lists = _lists(steps)
    methods, headers, expose = lists[ACAM], lists[ACAH], lists[ACEH]
    cred = creds == YES or any(f"{ACAC}: true" in s.set for s in steps)

    def py(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    if stack in ("starlette", "uvicorn"):
        args = [f'allow_origins=["{origin}"]'] + (["allow_credentials=True"] if cred else [])
        args += [f"allow_methods={py(methods)}"] if methods else []
        args += [f"allow_headers={py(headers)}"] if headers else []
        args += [f"expose_headers={py(expose)}"] if expose else []
        said = ("the body's 'Disallowed CORS …' is Starlette's CORSMiddleware" if stack == "starlette"
                else "Server: uvicorn (Starlette/FastAPI); if it uses CORSMiddleware")
        return (f"{said}: CORSMiddleware({', '.join(args)}), added last (outermost) so that it "
                "answers before authentication and error handlers")
    if stack in ("aiohttp-cors", "aiohttp"):
        args = (["allow_credentials=True"] if cred else [])
        args += [f"allow_headers={py(headers)}"] if headers else []
        args += [f"expose_headers={py(expose)}"] if expose else []
        args += [f"allow_methods={py(methods)}"] if methods else []
        said = ("the body's 'CORS preflight request failed' is aiohttp-cors" if stack == "aiohttp-cors"
                else "Server: aiohttp; if it uses aiohttp-cors")
        return f'{said}: defaults={{"{origin}": ResourceOptions({", ".join(args)})}}'
    if stack == "express":
        args = [f'origin: "{origin}"'] + (["credentials: true"] if cred else [])
        args += [f"methods: {py(methods)}"] if methods else []
        args += [f"allowedHeaders: {py(headers)}"] if headers else []
        args += [f"exposedHeaders: {py(expose)}"] if expose else []
        return (f"X-Powered-By: Express; if it uses the cors package: app.use(cors({{"
                f"{', '.join(args)}}})) before any authentication middleware")
    if stack == "werkzeug":
        args = [f'origins=["{origin}"]'] + (["supports_credentials=True"] if cred else [])
        args += [f"methods={py(methods)}"] if methods else []
        args += [f"allow_headers={py(headers)}"] if headers else []
        args += [f"expose_headers={py(expose)}"] if expose else []
        return f"Server: Werkzeug (Flask); if it uses flask-cors: CORS(app, {', '.join(args)})"
    return None


def body_line(text: str) -> str | None:
    """The first line of a body that explains a refusal: printable, at most 120
    characters, anything that looks like a token cut out."""
    first = text.strip().partition("\n")[0].strip()
    if not first:
        return None
    cut = _TOKEN_LIKE.sub(lambda m: "…" if any(c.isdigit() for c in m[0]) else m[0], first)
    return printable(cut, 120)
