"""HTTP facts the CORS checks need, computed the way Chromium computes them, over
``str`` only: header names lower-case, values decoded as latin-1 by whoever read them
off the wire (every byte survives, comparisons stay byte-exact: ``"TRUE" != "true"``).

Every header the core reads is named once here; the read sets derive from the names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit


class Req:
    """The request headers the core reads (a request's other headers never change a
    verdict). Cookie and Authorization values never pass the reading: only the cookie
    names and the Authorization scheme do (``model.Exchange``)."""

    ORIGIN = "origin"
    SEC_FETCH_MODE = "sec-fetch-mode"
    SEC_FETCH_DEST = "sec-fetch-dest"
    UPGRADE = "upgrade"
    UPGRADE_INSECURE_REQUESTS = "upgrade-insecure-requests"
    ACCEPT = "accept"
    ACRM = "access-control-request-method"
    ACRH = "access-control-request-headers"
    ACRPN = "access-control-request-private-network"
    COOKIE = "cookie"
    AUTHORIZATION = "authorization"
    REFERER = "referer"  # only its origin is kept: the page, for cookies' SameSite
    SEC_FETCH_SITE = "sec-fetch-site"
    USER_AGENT = "user-agent"  # with the client's address: whose cookie store


class Resp:
    """The response headers whose values the core reads. Of all the others only the
    names matter (which of them JavaScript cannot read)."""

    ACAO = "access-control-allow-origin"
    ACAC = "access-control-allow-credentials"
    ACAM = "access-control-allow-methods"
    ACAH = "access-control-allow-headers"
    ACEH = "access-control-expose-headers"
    MAX_AGE = "access-control-max-age"
    ACAPN = "access-control-allow-private-network"
    LOCATION = "location"
    VARY = "vary"  # the remedy adds Origin to it
    SERVER = "server"  # the stack, for the remedy's hint
    X_POWERED_BY = "x-powered-by"
    SET_COOKIE = "set-cookie"  # each line parsed on its own, its value dropped
    CACHE_CONTROL = "cache-control"  # whether a shared cache may keep it (security: Vary)


def _names(cls: type) -> frozenset[str]:
    return frozenset(v for k, v in vars(cls).items() if k.isupper())


REQUEST_HEADERS = _names(Req)
RESPONSE_HEADERS = _names(Resp)

HTTP_WHITESPACE = " \t\r\n"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_SPECIAL_SCHEMES = frozenset(("http", "https", "ws", "wss", "ftp", "file"))
# the common URL's origin: a lower-case http(s) scheme and host name, no userinfo, and
# the port (group 2) if any
_PLAIN_ORIGIN = re.compile(r"(https?://[a-z0-9.-]+)(?::([0-9]{1,5}))?(?=[/?#]|$)", re.ASCII)
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

SAFELISTED_METHODS = frozenset(("GET", "HEAD", "POST"))
SAFELISTED_RESPONSE_HEADERS = frozenset(
    ("cache-control", "content-language", "content-length", "content-type", "expires",
     "last-modified", "pragma")
)
FORBIDDEN_RESPONSE_HEADERS = frozenset(("set-cookie", "set-cookie2"))


def normalize(lines: Iterable[tuple[str, str]], names: frozenset[str]) -> dict[str, str]:
    """Chromium's GetNormalizedHeader for every header of ``lines`` named in ``names``:
    each line trimmed of HTTP whitespace, the lines of one name joined with ", ".
    ``lines``: ``(name, value)`` pairs, names lower-case."""
    out: dict[str, str] = {}
    for name, value in lines:
        if name in names:
            value = value.strip(HTTP_WHITESPACE)
            out[name] = out[name] + ", " + value if name in out else value
    return out


def is_token(s: str) -> bool:
    return bool(s) and _TOKEN_CHARS.issuperset(s)


def parse_token_list(value: str | None) -> list[str] | None:
    """A comma list of tokens (ACAM, ACAH, ACEH). ``[]`` when absent, ``None`` when an
    element is not a token (Chromium then rejects the whole list). Empty elements are
    skipped."""
    if value is None:
        return []
    items = []
    for part in value.split(","):
        part = part.strip(HTTP_WHITESPACE)
        if not part:
            continue
        if not is_token(part):
            return None
        items.append(part)
    return items


def origin_of(url: str) -> str | None:
    """The serialized origin (``scheme://host[:port]``) of an absolute URL, as a browser
    serializes it: lower-case scheme and host, default port omitted, no userinfo."""
    m = _PLAIN_ORIGIN.match(url)
    if m is not None:  # the common case, without urlsplit: already lower-case
        origin, port = m.groups()
        if port is None:
            return origin
        n = int(port)
        if n > 65535:
            return None
        return origin if n == (80 if origin[4] == ":" else 443) else f"{origin}:{n}"
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def without_query(url: str) -> str:
    """A URL or request target (``/a/b?q#f``) without its query and fragment: an API
    endpoint, or a path."""
    return url.partition("?")[0].partition("#")[0]


def url_path(url: str) -> str:
    """The path of an absolute URL, without its query and fragment."""
    return "/" + without_query(url.partition("://")[2].partition("/")[2])


def strip_fragment(url: str) -> str:
    return url.partition("#")[0]


def parses_as_url(value: str) -> bool:
    """Roughly GURL(value).is_valid() for what appears in Access-Control-Allow-Origin:
    a scheme, and for the special schemes a non-empty host."""
    colon = value.find(":")
    if colon <= 0:
        return False
    scheme = value[:colon]
    if not (scheme[0].isascii() and scheme[0].isalpha()):
        return False
    if not all(c.isascii() and (c.isalnum() or c in "+-.") for c in scheme):
        return False
    if any(c in value for c in " \t\r\n"):
        return False
    scheme = scheme.lower()
    if scheme in _SPECIAL_SCHEMES and scheme != "file":
        rest = value[colon + 1 :].lstrip("/\\")
        host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
        host = host.split(":", 1)[0] if not host.startswith("[") else host
        return bool(host)
    return True


def location_userinfo(location: str) -> bool:
    """True when a Location URL carries ``user[:pass]@``."""
    try:
        parts = urlsplit(location)
    except ValueError:
        return False
    return bool(parts.netloc) and "@" in parts.netloc


def strip_userinfo(url: str) -> str:
    """The URL without its ``user:pass@`` part (and with query values redacted)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return redact_url(parts._replace(netloc=netloc).geturl())


def redact_url(url: str) -> str:
    """The URL with any userinfo password and every query value replaced by ``…``, so
    tokens in URLs never reach a log line, a comment or a report. The fragment is
    dropped (it never goes on the wire)."""
    base, _, query = url.partition("#")[0].partition("?")
    if "@" in base:
        scheme, sep, rest = base.partition("://")
        netloc, slash, path = rest.partition("/")
        if "@" in netloc:
            userinfo, hostport = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:…@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
        base = f"{scheme}{sep}{netloc}{slash}{path}"
    if not query:
        return base
    return base + "?" + "&".join(
        [(p.partition("=")[0] + "=…") if "=" in p else p for p in query.split("&")])


def printable(value: str, limit: int = 200) -> str:
    """A header value made safe for a one-line comment or log line: every character
    that is not printable (controls, line and paragraph separators, no-break and other
    non-ASCII spaces) escaped, long values clipped."""
    if len(value) <= limit and value.isprintable():
        return value
    out = "".join(
        c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
        for c in value[: limit + 1]
    )
    return out[:limit] + "…" if len(value) > limit else out


def cookie_names(cookie_lines: Iterable[str]) -> tuple[str, ...]:
    """Cookie names (never values) from Cookie header lines, in order, without repeats."""
    names: dict[str, None] = {}
    for line in cookie_lines:
        for pair in line.split(";"):
            name = pair.split("=", 1)[0].strip()
            if name:
                names[name] = None
    return tuple(names)


_AUTH_SCHEMES = {s.lower(): s for s in (
    "Basic", "Bearer", "Digest", "Negotiate", "NTLM", "HOBA", "Mutual", "DPoP", "Token",
    "AWS4-HMAC-SHA256", "SCRAM-SHA-256", "VAPID",
)}


def auth_scheme(value: str) -> str:
    """The scheme of an Authorization value, named only when it is a well-known one:
    never any part of the credentials."""
    word, sep, _ = value.strip().partition(" ")
    known = _AUTH_SCHEMES.get(word.lower()) if sep else None
    return f"{known} scheme" if known else "unrecognised scheme"
