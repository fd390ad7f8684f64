"""The core's value types: what it is told about a flow (``Exchange``), and what it
concludes (``Finding``). Immutable named tuples (built by keyword, changed only into a
new value with ``_replace``; a frozen dataclass costs four times as much to build, on
every flow), ``str`` only; neither holds a secret: an Exchange keeps cookie names and
the Authorization scheme, never their values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .checks import Check, Failure, Fields
from .cookies import Cookies, SetCookie, parse_set_cookie
from .engines import Browser, EngineNote
from .security import SecurityFinding
from .http import (
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    Req,
    Resp,
    auth_scheme,
    cookie_names,
    normalize,
    origin_of,
)
from .reasons import CorsError
from .remedy import Remedy, body_line

HIDDEN, EXPOSED = "hidden", "exposed"
INCLUDE, OMIT = "include", "omit-or-same-origin"


class Exchange(NamedTuple):
    """The facts of one HTTP request/response pair, free of any proxy library. Build it
    with ``Exchange.of``. ``key`` is the caller's handle for the flow (mitmproxy's flow
    id); ``status`` and ``response`` are None when the flow has no response."""

    key: str
    method: str
    url: str
    request: Mapping[str, str]  # normalized values of the request headers read (http.Req)
    timestamp: float = 0.0
    cookies: tuple[str, ...] | None = None  # names of the cookies sent; None: no Cookie
    authorization: str | None = None  # the Authorization scheme, described; None: absent
    status: int | None = None
    response: Mapping[str, str] | None = None  # normalized values of http.Resp headers
    response_names: tuple[str, ...] = ()  # every response header's name, in order, once
    websocket: bool = False
    body: str | None = None  # a refused preflight's explanation: its body's first line
    client: str = ""  # whose cookie store: the client's address and User-Agent
    set_cookies: tuple[SetCookie, ...] = ()  # the response's Set-Cookie lines, no values
    acao_lines: int = 1  # how many Access-Control-Allow-Origin lines (Firefox tells apart)

    @classmethod
    def of(cls, *, key: str, method: str, url: str, request_headers: Iterable[tuple[str, str]],
           status: int | None = None, response_headers: Iterable[tuple[str, str]] | None = None,
           response_names: Iterable[str] | None = None, timestamp: float = 0.0,
           websocket: bool = False, body: str | None = None,
           client: str = "") -> "Exchange":
        """From header lines (``(name, value)``, names lower-case; any others than the
        core reads are ignored): the one place header values are normalized, as Chromium
        does (each line trimmed, the lines of a name joined with ", ").
        ``response_names``: every response header's name, when ``response_headers`` holds
        only those the core reads. ``body``: the text of a refused preflight's body (its
        first line is kept, made safe: ``remedy.body_line``). ``client``: the client's
        address (the User-Agent is added to it). The Referer is kept as its origin only,
        each Set-Cookie line as a ``SetCookie`` (no value)."""
        lines = request_headers if isinstance(request_headers, list) else list(request_headers)
        request = normalize(lines, REQUEST_HEADERS)
        cookies = None
        if request.pop(Req.COOKIE, None) is not None:  # names per line, not from the joined value
            cookies = cookie_names([v for n, v in lines if n == Req.COOKIE])
        auth = request.pop(Req.AUTHORIZATION, None)
        referer = request.get(Req.REFERER)
        if referer is not None:
            request[Req.REFERER] = origin_of(referer) or "null"
        response = None
        names: tuple[str, ...] = ()
        set_cookies: tuple[SetCookie, ...] = ()
        acao_lines = 1
        if response_headers is not None:
            rlines = (response_headers if isinstance(response_headers, list)
                      else list(response_headers))
            response = normalize(rlines, RESPONSE_HEADERS)
            names = tuple(response_names if response_names is not None
                          else (n for n, _ in rlines))
            if len(set(names)) != len(names):  # (a name on several lines: rare)
                names = tuple(dict.fromkeys(names))
            acao = response.get(Resp.ACAO)
            if acao is not None and "," in acao:
                acao_lines = sum(1 for n, _ in rlines if n == Resp.ACAO)
            if response.pop(Resp.SET_COOKIE, None) is not None:
                set_cookies = tuple(sc for sc in (parse_set_cookie(v, timestamp) for n, v in rlines
                                                  if n == Resp.SET_COOKIE) if sc is not None)
        return cls(key, method, url, request, timestamp, cookies,  # positional: every flow
                   auth_scheme(auth) if auth is not None else None, status, response, names,
                   websocket, body_line(body) if body else None,
                   f"{client} {request.get(Req.USER_AGENT, '')}", set_cookies, acao_lines)


class Finding(NamedTuple):
    """The verdict on one flow, rendered once into the dict every output uses
    (``render.render``). ``open``: a preflight awaiting its actual request, whose
    verdict may still change (the analyzer then gives a new Finding for the flow)."""

    verdict: str  # HIDDEN | EXPOSED
    role: str  # "actual" | "preflight" | "redirect"
    origin: str
    url: str  # redacted
    method: str
    credentials: tuple[str, ...] = ()  # the evidence, names only
    credentials_mode: str = OMIT  # or INCLUDE
    reason: CorsError | None = None
    failed_parameter: str | None = None
    fields: Fields = ()  # the reason's text parameters
    confidence: str = "certain"  # or "inferred"
    warnings: tuple[str, ...] = ()
    hidden_headers: tuple[str, ...] = ()  # every header JS cannot read (readable responses)
    noted_headers: tuple[str, ...] = ()  # those worth naming (remedy.worth_naming)
    remedy: Remedy | None = None  # every change that makes the whole request readable
    if_credentialed: Failure | None = None  # what would fail with credentials
    related: tuple[tuple[str, Any], ...] = ()  # correlation: the preflight, hop numbers, …
    checks: tuple[Check, ...] = ()
    open: bool = False
    browser: Browser | None = None  # the client's engine, from its User-Agent
    engine_notes: tuple[EngineNote, ...] = ()  # where another engine would differ

    @property
    def hidden(self) -> bool:
        return self.verdict == HIDDEN


class Update(NamedTuple):
    """A finding for a flow: ``handle`` is what the caller gave with the exchange (the
    adapter: the flow), given back so that a verdict settled later reaches its flow.
    ``finding``: the CORS finding, None for a flow that is not CORS but has cookie
    findings (``cookies``: what the browser did with the flow's cookies)."""

    key: str
    finding: Finding | None
    handle: object = None
    cookies: Cookies | None = None
    security: tuple[SecurityFinding, ...] = ()  # what this exchange shows (security.py)
    timestamp: float = 0.0  # the exchange's (its request's) time, as given
