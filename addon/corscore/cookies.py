"""Cookies, as Chromium handles them on the requests a proxy sees (the rules of
``cookies-observed.md``, measured on Chromium 156): which Set-Cookie lines it refuses to
store, and which stored cookies it does not send, and why, in DevTools' names.

Pure functions over plain values. A Set-Cookie line is parsed into a ``SetCookie`` (its
name, its size, its attributes) and its value is dropped right there: nothing here ever
holds a cookie value. The cookie store the proxy models for each client (the ledger)
lives in ``state.Jar``; this module only judges.

Sites are schemeful: scheme + registrable domain (the public suffix list, private section
included; an unknown TLD is a public suffix), the whole host for an IP address, ports
ignored.
"""

from __future__ import annotations

import ipaddress
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import NamedTuple

from .reasons import COOKIE_REASONS, CookieReason as C, render as fill
from .http import printable

try:  # a dependency of mitmproxy, so present wherever mitmproxy is (binaries included)
    from publicsuffix2 import PublicSuffixList

    _PSL = PublicSuffixList()
    PSL_SOURCE = "publicsuffix2 (mitmproxy's own copy of the public suffix list)"
except Exception:  # pragma: no cover - a mitmproxy without it
    _PSL = None
    PSL_SOURCE = "none: only the last label of a host is taken as its public suffix"

MAX_NAME_VALUE = 4096  # Chromium's limit on name + value, in bytes
LAX_ALLOW_UNSAFE = 120.0  # seconds: an unset-SameSite cookie this young goes with a cross-site POST
STRICT, LAX, NONE = "strict", "lax", "none"  # SameSite; None when unset or invalid
FETCH, NAVIGATION, FORM, IFRAME = "fetch", "navigation", "form", "iframe"  # request kinds


class SetCookie(NamedTuple):
    """A Set-Cookie line without its value: what the browser decides on."""

    name: str
    size: int  # len(name) + len(value), in bytes
    domain: str | None = None  # the Domain attribute, lower-case, without a leading dot
    path: str | None = None  # the Path attribute, when it starts with "/"
    expires: float | None = None  # absolute time (Max-Age wins over Expires); None: session
    secure: bool = False
    httponly: bool = False
    samesite: str | None = None  # STRICT | LAX | NONE | None (unset)
    partitioned: bool = False


def parse_set_cookie(line: str, now: float) -> SetCookie | None:
    """A Set-Cookie line as Chromium's ParsedCookie reads it; None for a line it ignores
    (empty name and value). The value is measured, never kept."""
    pair, *attrs = line.split(";")
    name, eq, value = pair.partition("=")
    if not eq:
        name, value = "", name
    name, value = name.strip(" \t"), value.strip(" \t")
    if not name and not value:
        return None
    out = {"name": name, "size": len(name) + len(value)}  # latin-1 decoded: one char a byte
    max_age = expires = None
    for attr in attrs:
        key, _, val = attr.partition("=")
        key, val = key.strip(" \t").lower(), val.strip(" \t")
        if key == "domain":
            out["domain"] = val.lstrip(".").lower() or None
        elif key == "path":
            out["path"] = val if val.startswith("/") else None
        elif key == "max-age":
            try:
                max_age = int(val)
            except ValueError:
                pass
        elif key == "expires":
            expires = _date(val)
        elif key == "secure":
            out["secure"] = True
        elif key == "httponly":
            out["httponly"] = True
        elif key == "samesite":
            v = val.lower()
            out["samesite"] = v if v in (STRICT, LAX, NONE) else None
        elif key == "partitioned":
            out["partitioned"] = True
    if max_age is not None:
        out["expires"] = now + max_age if max_age > 0 else float("-inf")
    elif expires is not None:
        out["expires"] = expires
    return SetCookie(**out)


def _date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value.replace("-", " ")).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def deletes(sc: SetCookie, now: float) -> bool:
    """Max-Age=0 or an Expires in the past: the line removes a cookie, stores nothing."""
    return sc.expires is not None and sc.expires <= now


# -- sites ---------------------------------------------------------------------------

def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def public_suffix(host: str) -> str:
    """The host's public suffix; an unknown TLD is one (the list's implicit ``*``)."""
    suffix = _PSL.get_tld(host, strict=True) if _PSL is not None else None
    return suffix or host.rsplit(".", 1)[-1]


@lru_cache(maxsize=4096)
def registrable(host: str) -> str | None:
    """The registrable domain (eTLD+1) of a host; None for an IP address or a public
    suffix."""
    host = host.lower().strip(".")
    if not host or _is_ip(host):
        return None
    suffix = public_suffix(host)
    if host == suffix:
        return None
    labels = host[: -len(suffix) - 1].rsplit(".", 1)
    return f"{labels[-1]}.{suffix}"


_SCHEME = {"ws": "http", "wss": "https"}


def site(scheme: str, host: str) -> str:
    """The schemeful site: scheme + registrable domain (the host itself for an IP
    address, localhost or a public suffix)."""
    host = host.lower()
    return f"{_SCHEME.get(scheme, scheme)}://{registrable(host) or host}"


def site_of_origin(origin: str | None) -> str | None:
    """The site of a serialized origin (``https://app.example:8443``); None for
    ``null``, absent or unparsable."""
    if not origin or "://" not in origin:
        return None
    scheme, host, _ = split_url(origin)
    return site(scheme, host) if host else None


def split_url(url: str) -> tuple[str, str, str]:
    """(scheme, host, path) of an absolute URL: lower-case scheme and host, no port."""
    scheme, _, rest = url.partition("://")
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if 0 <= i < end:
            end = i
    hostport, path = rest[:end], rest[end:].partition("#")[0]
    hostport = hostport.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        host = hostport.split("]", 1)[0] + "]"
    else:
        host = hostport.partition(":")[0]
    if not path.startswith("/"):
        path = "/" + path
    return scheme.lower(), host.lower(), path


def trustworthy(scheme: str, host: str) -> bool:
    """A potentially trustworthy URL: https, or http to localhost or a loopback IP."""
    if scheme in ("https", "wss"):
        return True
    host = host.lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def domain_match(host: str, domain: str) -> bool:
    return host == domain or (host.endswith("." + domain) and not _is_ip(host))


def path_match(path: str, cookie_path: str) -> bool:
    if path == cookie_path:
        return True
    return path.startswith(cookie_path) and (cookie_path.endswith("/")
                                             or path[len(cookie_path)] == "/")


def default_path(path: str) -> str:
    """The request path's directory (``/api/v1/login`` → ``/api/v1``)."""
    path = path.partition("?")[0]
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rfind("/")]


# -- the request's context -----------------------------------------------------------

class Context(NamedTuple):
    """Where a request stands, for cookies: its URL's parts and site, the top-level site
    (≈ the page's: ``Origin``, else ``Referer``; the URL's own for a top-level
    navigation), and whether it is cross-site for SameSite."""

    scheme: str
    host: str
    path: str
    site: str
    top: str | None  # None: unknown (no Origin, no Referer): no SameSite claim is made
    kind: str  # FETCH | NAVIGATION | FORM | IFRAME
    cross: bool  # cross-site for SameSite (a navigation: from a page of another site)
    secure: bool  # the URL is potentially trustworthy

    @property
    def third_party(self) -> bool:
        """A cross-site subresource or iframe: third-party cookie rules apply."""
        return self.cross and self.kind in (FETCH, IFRAME)


def context(scheme: str, host: str, path: str, kind: str, origin: str | None,
            referer: str | None, fetch_site: str | None) -> Context:
    """``origin``/``referer``: serialized origins (the Referer reduced to its origin).
    ``fetch_site``: Sec-Fetch-Site, used for navigations only (on subresources it
    accumulates over redirects, which SameSite does not: rule 17)."""
    here = site(scheme, host)
    initiator = site_of_origin(origin if origin != "null" else None) or site_of_origin(referer)
    if kind in (NAVIGATION, FORM):
        if fetch_site is not None:
            cross = fetch_site.lower() == "cross-site"
        else:
            cross = initiator is not None and initiator != here
        top: str | None = here
    else:
        top = initiator
        cross = top is not None and top != here
    return Context(scheme, host.lower(), path.partition("?")[0] or "/", here, top, kind,
                   cross, trustworthy(scheme, host))


# -- each engine's policy -------------------------------------------------------------

INFER, PARTITION, BLOCK = "infer", "partition", "block"


class Policy(NamedTuple):
    """What an engine does with cookies, where engines differ (engines-observed.md)."""

    rules: str  # in words, for the metadata
    lax_by_default: bool  # a cookie without SameSite is treated as Lax
    none_needs_secure: bool  # SameSite=None without Secure is refused
    # third-party cookies: INFER (blocked unless this client is seen sending one, as
    # Chromium's default now is), PARTITION (every cookie kept under the top-level site
    # it was set in: Firefox's Total Cookie Protection), BLOCK (never: Safari, ITP)
    third_party: str


CHROMIUM = Policy("Chromium's (cookies-observed: Chromium 156)", True, True, INFER)
POLICIES = {
    "chromium": CHROMIUM,
    "unknown": CHROMIUM,
    "firefox": Policy("Firefox's (Total Cookie Protection, its default: every cookie kept "
                      "under the top-level site it was set in; no SameSite means None)",
                      False, True, PARTITION),
    "webkit": Policy("WebKit's (Safari and ITP: third-party cookies blocked; no SameSite "
                     "means None; SameSite=None without Secure kept, as WebKitGTK did)",
                     False, False, BLOCK),
}


# -- what the ledger keeps ------------------------------------------------------------

class Stored(NamedTuple):
    """A cookie the proxy saw the browser store: never its value."""

    name: str
    domain: str  # the host for a host-only cookie
    host_only: bool
    path: str
    secure: bool
    httponly: bool
    samesite: str | None
    partition: str | None  # the top-level site of a partitioned cookie
    expires: float | None
    created: float
    set_from: str  # the site that set it
    page: str | None  # the site of the page that caused it (top-level ≈ Origin, Referer)
    unsure: bool = False  # stored only if the page sent credentials (not seen since)

    @property
    def key(self) -> tuple[str, str, str, str | None]:
        return (self.name, self.domain, self.path, self.partition)


def stored(sc: SetCookie, ctx: Context, now: float, unsure: bool = False,
           policy: Policy = CHROMIUM) -> Stored:
    host_only = sc.domain is None or sc.domain == ctx.host
    partitioned = sc.partitioned or policy.third_party == PARTITION
    return Stored(sc.name, ctx.host if host_only else sc.domain, host_only,
                  sc.path or default_path(ctx.path), sc.secure, sc.httponly, sc.samesite,
                  (ctx.top or ctx.site) if partitioned else None, sc.expires, now,
                  ctx.site, ctx.top, unsure)


# -- the judgements ------------------------------------------------------------------

def refusal(sc: SetCookie, ctx: Context, third_party_blocked: bool,
            overwrites_secure: bool = False, policy: Policy = CHROMIUM) -> tuple[C, ...]:
    """Why the browser refuses to store this Set-Cookie line (empty: it stores it), from
    the line, the response's context, the client's third-party setting and its engine's
    policy. ``overwrites_secure``: the jar holds a Secure cookie this line would replace."""
    if sc.size > MAX_NAME_VALUE:
        return (C.NameValuePairExceedsMaxSize,)
    out = []
    if sc.secure and not ctx.secure:
        out.append(C.SecureOnly)
    if sc.domain is not None and sc.domain != ctx.host and (
            _is_ip(ctx.host) or registrable(sc.domain) is None
            or not domain_match(ctx.host, sc.domain)):
        out.append(C.InvalidDomain)
    lower = sc.name.lower()
    if (lower.startswith("__secure-") and not sc.secure) or (lower.startswith("__host-") and (
            not sc.secure or sc.domain is not None or (sc.path or "") != "/")):
        out.append(C.InvalidPrefix)
    if sc.samesite == NONE and not sc.secure and policy.none_needs_secure:
        out.append(C.SameSiteNoneInsecure)
    if out:
        return tuple(out)
    if sc.partitioned and not sc.secure:
        return (C.PartitionedNotSecure,)
    if ctx.third_party:
        if sc.partitioned or not third_party_blocked or policy.third_party == PARTITION:
            same = _samesite_reason(sc.samesite, policy.lax_by_default)
            if same is not None:
                return (same,)
        else:
            return (C.UserPreferences,)
    if overwrites_secure and not ctx.secure and not sc.secure:
        return (C.OverwriteSecure,)
    return ()


def _samesite_reason(samesite: str | None, lax_by_default: bool = True) -> C | None:
    if samesite == STRICT:
        return C.SchemefulSameSiteStrict
    if samesite == LAX:
        return C.SchemefulSameSiteLax
    if samesite is None and lax_by_default:
        return C.SchemefulSameSiteUnspecifiedTreatedAsLax
    return None


def withholding(c: Stored, ctx: Context, third_party_blocked: bool,
                now: float, policy: Policy = CHROMIUM) -> tuple[C, ...]:
    """Why the browser does not send this stored cookie with this request (empty: it
    sends it). Only cookies of the request host's registrable domain are asked about,
    as DevTools lists them."""
    out = []
    if c.host_only and ctx.host != c.domain or not c.host_only and not domain_match(
            ctx.host, c.domain):
        out.append(C.DomainMismatch)
    if not path_match(ctx.path, c.path):
        out.append(C.NotOnPath)
    if c.secure and not ctx.secure:
        out.append(C.SecureOnly)
    if out:
        return tuple(out)
    if c.partition is not None and ctx.top is not None and c.partition != ctx.top:
        return (C.OtherPartition,)
    if not ctx.cross:
        return ()
    if ctx.kind == NAVIGATION:
        return (C.SchemefulSameSiteStrict,) if c.samesite == STRICT else ()
    if ctx.kind == FORM:
        if c.samesite is None and now - c.created < LAX_ALLOW_UNSAFE:
            return ()
        same = _samesite_reason(c.samesite, policy.lax_by_default)
        return (same,) if same is not None else ()
    same = _samesite_reason(c.samesite, policy.lax_by_default)
    out = [same] if same is not None else []
    if third_party_blocked and c.partition is None:
        out.append(C.UserPreferences)
    return tuple(out)


# -- in words ------------------------------------------------------------------------

class CookieNote(NamedTuple):
    """One cookie refused or withheld, in words: what ``cookies.rejected`` and
    ``cookies.withheld`` list."""

    name: str
    reasons: tuple[C, ...]
    detail: str
    fix: str
    when: str | None = None  # "credentialed": only if the page sent credentials
    silent: bool = False  # DevTools says nothing about it


_KIND = {FETCH: "fetch", NAVIGATION: "navigation", FORM: "form submission", IFRAME: "iframe"}


def note(name: str, reasons: tuple[C, ...], ctx: Context, *, refused: bool,
         domain: str | None = None, cookie_path: str | None = None, size: int = 0,
         partition: str | None = None, when: str | None = None) -> CookieNote:
    fields = {"name": printable(name, 80), "host": ctx.host, "path": printable(ctx.path, 120),
              "scheme": ctx.scheme, "site": ctx.site, "top": ctx.top or "?",
              "domain": printable(domain or "", 80), "cookie_path": printable(cookie_path or "", 80),
              "size": str(size), "partition": partition or "?", "kind": _KIND[ctx.kind],
              "registrable": registrable(ctx.host) or ctx.host}
    rows = [COOKIE_REASONS[r] for r in reasons]
    detail = "; ".join(fill(r.stored if refused else r.sent, fields) for r in rows)
    fixes = list(dict.fromkeys(fill(r.fix, fields) for r in rows))
    return CookieNote(fields["name"], reasons, detail, "; ".join(fixes), when,
                      not any(r.devtools for r in rows))


class Cookies(NamedTuple):
    """The cookie findings of one flow (``url`` redacted)."""

    url: str
    method: str
    rejected: tuple[CookieNote, ...] = ()
    withheld: tuple[CookieNote, ...] = ()
    third_party: str = ""  # the client's third-party cookie setting, as far as known
    lead: str | None = None  # the cookie failure behind a 401/403 or a login redirect
    rules: str = CHROMIUM.rules  # whose cookie rules judged it (the client's engine)
