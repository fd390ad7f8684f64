"""The one module that knows mitmproxy's flows: it reads a flow, once, into the core's
``Exchange`` (``str`` only, header names lower-cased once, only the headers the core
reads decoded; cookie and Authorization values go no further than the Exchange's
construction, which keeps only cookie names and the Authorization scheme)."""

from __future__ import annotations

from collections.abc import Callable

from mitmproxy import http

from corscore import Exchange
from corscore.http import REQUEST_HEADERS, RESPONSE_HEADERS, Req
from corscore.security import Answer, Probe

# The raw (lower-case) names of the request headers the core reads: a request's other
# headers are never decoded.
_REQUEST = {name.encode(): name for name in REQUEST_HEADERS}
MAX_BODY = 4096  # a refused preflight's body is read only up to this size


def _lines(fields, wanted: dict[bytes, str]) -> list[tuple[str, str]]:
    out = []
    for raw, value in fields:
        name = wanted.get(raw.lower())
        if name is not None:
            out.append((name, value.decode("latin-1")))
    return out


def _response(fields) -> tuple[list[str], list[tuple[str, str]]]:
    """Every response header's name, and the lines of those the core reads: one pass."""
    names = []
    lines = []
    for raw, value in fields:
        name = raw.decode("latin-1").lower()
        names.append(name)
        if name in RESPONSE_HEADERS:
            lines.append((name, value.decode("latin-1")))
    return names, lines


_DEFAULT_PORT = {"http": 80, "https": 443}


def _url(req: http.Request, method: str) -> str:
    """``req.url``, built from its parts as mitmproxy's ``url.unparse`` and ``hostport``
    build it (the property costs twice as much, through more calls; measured: some 4,500
    instructions a flow of the benchmark mix in mitmdump -nr)."""
    if method == "CONNECT":
        return req.url  # (authority form)
    host, port, path = req.host, req.port, req.path
    scheme = req.scheme
    if path == "*":
        path = ""
    if _DEFAULT_PORT.get(scheme) == port:
        return f"{scheme}://{host}{path}"
    return f"{scheme}://{host}:{port}{path}"


def read(flow: http.HTTPFlow, response: bool = True, cookies: bool = False,
         every: Callable[[], bool] | None = None) -> Exchange | None:
    """The facts of a flow (without the response when ``response`` is False); None for
    a flow that matters to nobody: no Origin header, and (with ``cookies``) no Cookie or
    Set-Cookie header, unless ``every()`` (a client's cookies are known: a request
    without a Cookie header may lack one; asked only of such a flow)."""
    req = flow.request
    request_lines = _lines(req.headers.fields, _REQUEST)
    resp = flow.response if response else None
    fields = resp.headers.fields if resp is not None else ()
    for name, _ in request_lines:
        if name == Req.ORIGIN or (cookies and name == Req.COOKIE):
            break
    else:
        if not (every is not None and every()
                or cookies and any(raw.lower() == b"set-cookie" for raw, _ in fields)):
            return None
    peer = getattr(flow.client_conn, "peername", None)
    client = str(peer[0]) if peer else ""
    method = req.method
    if resp is None:
        return Exchange.of(key=flow.id, method=method, url=_url(req, method),
                           request_headers=request_lines, timestamp=req.timestamp_start or 0.0,
                           websocket=flow.websocket is not None, client=client)
    status = resp.status_code
    body = None
    if method == "OPTIONS" and not 200 <= status < 300:
        body = _refusal(resp)
        if body:
            body = _scrub(body, req)
    names, response_lines = _response(fields)
    return Exchange.of(
        key=flow.id, method=method, url=_url(req, method), request_headers=request_lines,
        status=status, response_headers=response_lines, response_names=names,
        timestamp=req.timestamp_start or 0.0, websocket=flow.websocket is not None, body=body,
        client=client,
    )


def _refusal(resp: http.Response) -> str | None:
    """The start of a refused preflight's body: servers often say why there (a CORS
    library's refusal). Only a short, plain-text one is read."""
    raw = resp.raw_content
    if not raw or len(raw) > MAX_BODY:
        return None
    try:
        content = resp.get_content(strict=False) or b""
    except ValueError:
        return None
    ctype = resp.headers.get("content-type", "text/plain").lower()
    if not ctype.startswith(("text/plain", "application/json")):
        return None
    return content[:MAX_BODY].decode("utf-8", "replace")


def _scrub(text: str, req: http.Request) -> str:
    """The text without any secret of the request: query values, cookie values, the
    Authorization credentials (a server may echo them in an error message)."""
    secrets = [v for _, v in req.query.items(multi=True)]
    secrets += [v for _, v in req.cookies.items(multi=True)]
    secrets += req.headers.get("authorization", "").split()
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "…")
    return text


# -- the opt-in probe: the only flows this addon ever makes --------------------------

PROBE_KEY = "cors_creds_probe"  # flow.metadata key of a probe flow
# request headers a preflight does not announce (the browser's own, or safelisted)
_NOT_ANNOUNCED = frozenset((
    "host", "connection", "content-length", "cookie", "origin", "referer", "user-agent",
    "accept", "accept-encoding", "accept-language", "content-language", "cache-control",
    "pragma", "priority", "dnt", "te", "upgrade-insecure-requests", "keep-alive",
    "proxy-connection"))
_SAFE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def probe_flow(flow: http.HTTPFlow, probe: Probe) -> http.HTTPFlow:
    """A copy of ``flow``'s request with a forged Origin: GET and HEAD as the page sent
    them, any other method as its preflight only (OPTIONS, no body, no credentials: the
    state-changing request itself is never sent)."""
    pf = flow.copy()
    pf.response = None
    pf.error = None
    pf.marked = ""
    pf.comment = f"cors-creds probe ({probe.label}): Origin {probe.origin}"
    pf.metadata = {PROBE_KEY: {"for": flow.id, "label": probe.label, "origin": probe.origin}}
    req = pf.request
    if req.method not in ("GET", "HEAD"):
        announced = sorted({
            n.lower() for n, v in req.headers.items(multi=True)
            if n.lower() not in _NOT_ANNOUNCED and not n.lower().startswith("sec-")
            and not (n.lower() == "content-type" and v.split(";")[0].strip().lower() in _SAFE_TYPES)})
        method = req.method
        req.method = "OPTIONS"
        req.content = b""
        for name in ("cookie", "authorization", "content-type", "content-length"):
            req.headers.pop(name, None)
        req.headers["Access-Control-Request-Method"] = method
        if announced:
            req.headers["Access-Control-Request-Headers"] = ",".join(announced)
        else:
            req.headers.pop("Access-Control-Request-Headers", None)
    req.headers["Origin"] = probe.origin
    return pf


def probe_of(flow: http.HTTPFlow) -> tuple[str, str, Answer | None]:
    """A probe flow's original flow, label and the server's answer (None: no response)."""
    meta = flow.metadata[PROBE_KEY]
    resp = flow.response
    if resp is None:
        return meta["for"], meta["label"], None
    h = resp.headers
    joined = {n: ", ".join(v.strip() for v in h.get_all(n)) or None
              for n in ("access-control-allow-origin", "access-control-allow-credentials",
                        "vary", "cache-control")}
    return meta["for"], meta["label"], Answer(resp.status_code, *joined.values())
