"""HTTP facts the CORS checks need, computed the way Chromium computes them.

Header lists are tuples of ``(name, value)`` pairs of ``str``: names lower-cased,
values decoded as latin-1 so that every byte survives and comparisons stay
byte-exact (``"TRUE" != "true"``, a non-UTF-8 byte never equals ``"true"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

Headers = tuple[tuple[str, str], ...]

HTTP_WHITESPACE = " \t\r\n"
_PLAIN_ORIGIN = re.compile(r"(https?)://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(?=[/?#]|$)", re.ASCII)
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_SPECIAL_SCHEMES = frozenset(("http", "https", "ws", "wss", "ftp", "file"))

SAFELISTED_METHODS = frozenset(("GET", "HEAD", "POST"))
SAFELISTED_RESPONSE_HEADERS = frozenset(
    ("cache-control", "content-language", "content-length", "content-type", "expires",
     "last-modified", "pragma")
)
FORBIDDEN_RESPONSE_HEADERS = frozenset(("set-cookie", "set-cookie2"))


# Every request header the core reads: a request's other headers (User-Agent,
# Accept-Language, …) never change a verdict, so they need not be decoded at all.
REQUEST_HEADERS_READ = frozenset((
    "origin", "sec-fetch-mode", "sec-fetch-dest", "upgrade", "upgrade-insecure-requests",
    "accept", "access-control-request-method", "access-control-request-headers",
    "access-control-request-private-network", "cookie", "authorization",
))
# Every response header whose value the core reads. The names of all the others matter
# only next to an Access-Control-Expose-Headers line (the headers it leaves hidden), so
# a response with one is kept whole: make_headers(fields, RESPONSE_HEADERS_READ,
# all_if=RESPONSE_ALL_IF).
RESPONSE_HEADERS_READ = frozenset((
    "access-control-allow-origin", "access-control-allow-credentials",
    "access-control-allow-methods", "access-control-allow-headers",
    "access-control-expose-headers", "access-control-max-age",
    "access-control-allow-private-network", "location",
))
RESPONSE_ALL_IF = "access-control-expose-headers"

_NAMES: dict[bytes, str] = {}  # raw header name -> lower-cased str, for names seen before
_NAMES_CAP = 4096


def text(raw: bytes | str) -> str:
    """A raw header name or value as text: bytes decoded as latin-1 (every byte kept)."""
    return raw.decode("latin-1") if isinstance(raw, bytes) else raw


def _name(raw: bytes | str) -> str:
    name = _NAMES.get(raw)
    if name is None:
        name = text(raw).lower()
        if len(_NAMES) < _NAMES_CAP:
            _NAMES[raw] = name
    return name


def make_headers(fields: Iterable[tuple[bytes | str, bytes | str]],
                 keep: frozenset[str] | None = None, all_if: str | None = None) -> Headers:
    """Header pairs from raw fields; bytes are decoded as latin-1, names lower-cased.
    With ``keep``, only the headers of those (lower-case) names, in order; but all of
    them when a header named ``all_if`` is among the fields."""
    if type(fields) is tuple:  # noqa: E721 -- the proxy's raw fields: all bytes, one pass
        names = _NAMES
        try:
            if keep is None:
                return tuple([(names.get(n) or _name(n), v.decode("latin-1"))
                              for n, v in fields])
            kept = tuple([(name, v.decode("latin-1")) for n, v in fields
                          if (name := names.get(n) or _name(n)) in keep])
            if all_if is not None:
                for name, _ in kept:
                    if name == all_if:
                        return make_headers(fields)
            return kept
        except (AttributeError, TypeError):
            pass
    if keep is None:
        all_if = None
    elif all_if is not None:
        fields = list(fields)  # may be read twice
    out = []
    for name, value in fields:
        name = text(name).lower()
        if keep is not None and name not in keep:
            continue
        if name == all_if:
            return make_headers(fields)
        out.append((name, text(value)))
    return tuple(out)


def get_normalized(headers: Headers, name: str) -> str | None:
    """Chromium's GetNormalizedHeader: every line of that name, each trimmed of HTTP
    whitespace, joined with ", ". ``None`` when the header is absent."""
    values = [v.strip(HTTP_WHITESPACE) for n, v in headers if n == name]
    if not values:
        return None
    return ", ".join(values)


def normalized_index(headers: Headers) -> dict[str, str]:
    """Every header's normalized value (as get_normalized): one pass when no name repeats."""
    index = {name: value.strip(HTTP_WHITESPACE) for name, value in headers}
    if len(index) == len(headers):
        return index  # no name twice: nothing to join
    index = {}
    for name, value in headers:
        value = value.strip(HTTP_WHITESPACE)
        if name in index:
            index[name] = index[name] + ", " + value
        else:
            index[name] = value
    return index


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


_ORIGINS: dict[str, str] = {}  # "scheme://authority" -> its origin, for those seen before
_ORIGINS_CAP = 1024


def origin_of(url: str) -> str | None:
    """The serialized origin (``scheme://host[:port]``) of an absolute URL, as a browser
    serializes it: lower-case scheme and host, default port omitted, no userinfo."""
    # The authority ends at the first of "/?#" after "://": everything up to the first
    # "/" holds it whole, so equal prefixes have equal origins (property-tested).
    sep = url.find("://")
    if sep < 0:  # no authority to share with other URLs ("http:\t//b" parses as http://b)
        return _origin_of(url)
    end = url.find("/", sep + 3)
    prefix = url if end < 0 else url[:end]
    origin = _ORIGINS.get(prefix)
    if origin is None:
        origin = _origin_of(url)
        if origin is not None and len(_ORIGINS) < _ORIGINS_CAP:
            _ORIGINS[prefix] = origin
    return origin


def _origin_of(url: str) -> str | None:
    m = _PLAIN_ORIGIN.match(url)
    if m is not None:  # the common case, without urlsplit
        scheme, host, port = m.group(1).lower(), m.group(2).lower(), m.group(3)
        if port is not None and int(port) > 65535:
            return None
        if port is None or int(port) == DEFAULT_PORTS[scheme]:
            return f"{scheme}://{host}"
        return f"{scheme}://{host}:{int(port)}"
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
    if "?" not in url and "@" not in url and "#" not in url:
        return url
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
    if "&" not in query:  # one parameter: the common case, without a list
        name, eq, _ = query.partition("=")
        return f"{base}?{name}=…" if eq else f"{base}?{query}"
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


def cookie_names(cookie_header_values: Iterable[str]) -> list[str]:
    """Cookie names (never values) from Cookie header lines, in order, without repeats."""
    names: list[str] = []
    for line in cookie_header_values:
        for pair in line.split(";"):
            name = pair.split("=", 1)[0].strip()
            if name and name not in names:
                names.append(name)
    return names
