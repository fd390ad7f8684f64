"""The one module that knows mitmproxy's flows: it reads a flow, once, into the core's
``Exchange`` (``str`` only, header names lower-cased once, only the headers the core
reads decoded; cookie and Authorization values go no further than here)."""

from __future__ import annotations

from mitmproxy import http

from corscore import Exchange
from corscore.http import REQUEST_HEADERS, RESPONSE_HEADERS, Req


def _lines(fields: tuple[tuple[bytes, bytes], ...], names: list[str], wanted: frozenset[str]):
    return [(name, value.decode("latin-1"))
            for name, (_, value) in zip(names, fields) if name in wanted]


def read(flow: http.HTTPFlow, response: bool = True) -> Exchange | None:
    """The facts of a flow (without the response when ``response`` is False); None for
    a flow that cannot be CORS: no Origin header."""
    req = flow.request
    fields = req.headers.fields
    names = [n.decode("latin-1").lower() for n, _ in fields]
    if Req.ORIGIN not in names:
        return None
    resp = flow.response if response else None
    if resp is not None:
        rfields = resp.headers.fields
        rnames = [n.decode("latin-1").lower() for n, _ in rfields]
        response_lines = _lines(rfields, rnames, RESPONSE_HEADERS)
    return Exchange.of(
        key=flow.id, method=req.method, url=req.url,
        request_headers=_lines(fields, names, REQUEST_HEADERS),
        status=resp.status_code if resp is not None else None,
        response_headers=response_lines if resp is not None else None,
        response_names=rnames if resp is not None else None,
        timestamp=req.timestamp_start or 0.0, websocket=flow.websocket is not None,
    )
