"""The one module that knows mitmproxy's flows: it reads a flow, once, into the core's
``Exchange`` (``str`` only, header names lower-cased once, only the headers the core
reads decoded; cookie and Authorization values go no further than the Exchange's
construction, which keeps only cookie names and the Authorization scheme)."""

from __future__ import annotations

from mitmproxy import http

from corscore import Exchange
from corscore.http import REQUEST_HEADERS, RESPONSE_HEADERS, Req, Resp

# The raw (lower-case) names of the headers the core reads: a flow's other headers are
# never decoded.
_REQUEST = {name.encode(): name for name in REQUEST_HEADERS}
_RESPONSE = {name.encode(): name for name in RESPONSE_HEADERS}


def _lines(fields, wanted: dict[bytes, str]) -> list[tuple[str, str]]:
    out = []
    for raw, value in fields:
        name = wanted.get(raw.lower())
        if name is not None:
            out.append((name, value.decode("latin-1")))
    return out


def read(flow: http.HTTPFlow, response: bool = True) -> Exchange | None:
    """The facts of a flow (without the response when ``response`` is False); None for
    a flow that cannot be CORS: no Origin header."""
    req = flow.request
    request_lines = _lines(req.headers.fields, _REQUEST)
    for name, _ in request_lines:
        if name == Req.ORIGIN:
            break
    else:
        return None
    resp = flow.response if response else None
    if resp is None:
        return Exchange.of(key=flow.id, method=req.method, url=req.url,
                           request_headers=request_lines, timestamp=req.timestamp_start or 0.0,
                           websocket=flow.websocket is not None)
    fields = resp.headers.fields
    response_lines = _lines(fields, _RESPONSE)
    names = None
    for name, _ in response_lines:
        if name == Resp.ACEH:  # every header's name counts then
            names = [raw.decode("latin-1").lower() for raw, _ in fields]
            break
    return Exchange.of(
        key=flow.id, method=req.method, url=req.url, request_headers=request_lines,
        status=resp.status_code, response_headers=response_lines, response_names=names,
        timestamp=req.timestamp_start or 0.0, websocket=flow.websocket is not None,
    )
