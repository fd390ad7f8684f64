"""Builders shared by the core and addon tests."""

import itertools

from corscore import Exchange
from corscore.render import render

PAGE = "http://127.0.0.1:8000"
API = "http://127.0.0.1:9000"
XAPI = "http://127.0.0.2:9000"
_ids = itertools.count(1)


def ex(method="GET", url=API + "/data", req=(), status=200, resp=(), ts=1000.0, key=None,
       origin=PAGE, fetch_metadata=True, websocket=False):
    headers = []
    if origin is not None:
        headers.append(("Origin", origin))
    if fetch_metadata:
        headers.append(("Sec-Fetch-Mode", "cors"))
    headers.extend(req)
    return Exchange.of(
        key=key or f"f{next(_ids)}",
        method=method,
        url=url,
        request_headers=lines(headers),
        status=status,
        response_headers=None if status is None else lines(resp),
        timestamp=ts,
        websocket=websocket,
    )


def lines(headers):
    """Header lines as the flow reader gives them: names lower-cased."""
    return [(n.lower(), v) for n, v in headers]


def meta(finding):
    """The rendered finding: what every output is made from."""
    return render(finding, ":no_entry:")


def good(origin=PAGE, creds=True):
    h = [("Access-Control-Allow-Origin", origin)]
    if creds:
        h.append(("Access-Control-Allow-Credentials", "true"))
    return h


COOKIE = [("Cookie", "sid=s3cr3t-value; theme=dark")]


def preflight(method="PUT", url=API + "/data", headers=None, status=204, resp=(), ts=1000.0,
              origin=PAGE, key=None):
    req = [("Access-Control-Request-Method", method)]
    if headers:
        req.append(("Access-Control-Request-Headers", headers))
    return ex("OPTIONS", url, req, status, resp, ts, key, origin)
