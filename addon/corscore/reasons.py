"""The one table of reasons: Chromium's CorsError name, when it applies, the browser's
own console text, our one-line explanation, and the header fix.

The reasons are a closed set, ``CorsError``; the table has exactly one row for each,
checked at import, and every template names only fields of ``FIELDS``. Templates are
``str.format`` strings (missing fields render empty): ``origin`` (the request's Origin),
``value`` (the failing header value or method or header name, Chromium's
``failedParameter``), ``evidence`` (why we believe the request was credentialed),
``method``, ``status``, ``location`` (redacted), and the reason-specific ones below.
Every output renders from a Finding built on one of these rows (``render.py``);
nothing else spells a reason.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from enum import StrEnum


class CorsError(StrEnum):
    """Chromium's network::mojom::CorsError names this addon reports (the stable key)."""

    WildcardOriginNotAllowed = "WildcardOriginNotAllowed"
    MissingAllowOriginHeader = "MissingAllowOriginHeader"
    MultipleAllowOriginValues = "MultipleAllowOriginValues"
    InvalidAllowOriginValue = "InvalidAllowOriginValue"
    AllowOriginMismatch = "AllowOriginMismatch"
    InvalidAllowCredentials = "InvalidAllowCredentials"
    PreflightWildcardOriginNotAllowed = "PreflightWildcardOriginNotAllowed"
    PreflightMissingAllowOriginHeader = "PreflightMissingAllowOriginHeader"
    PreflightMultipleAllowOriginValues = "PreflightMultipleAllowOriginValues"
    PreflightInvalidAllowOriginValue = "PreflightInvalidAllowOriginValue"
    PreflightAllowOriginMismatch = "PreflightAllowOriginMismatch"
    PreflightInvalidAllowCredentials = "PreflightInvalidAllowCredentials"
    PreflightInvalidStatus = "PreflightInvalidStatus"
    PreflightDisallowedRedirect = "PreflightDisallowedRedirect"
    InvalidAllowMethodsPreflightResponse = "InvalidAllowMethodsPreflightResponse"
    InvalidAllowHeadersPreflightResponse = "InvalidAllowHeadersPreflightResponse"
    MethodDisallowedByPreflightResponse = "MethodDisallowedByPreflightResponse"
    HeaderDisallowedByPreflightResponse = "HeaderDisallowedByPreflightResponse"
    RedirectContainsCredentials = "RedirectContainsCredentials"


# Every field a template may name.
FIELDS = frozenset((
    "origin", "value", "evidence", "method", "status", "location", "path", "not_sent",
    "status_note", "creds_fix", "acac_line", "acac_desc", "star_note", "raw",
    "requested_headers", "location_clean",
    # the engines' texts (engines.words): the URL, the first bad token of a list, the
    # header name as a page writes it, a redirect's next URL, how many ACAO lines came
    "url", "token", "header", "next_url", "acao_lines",
))


@dataclass(frozen=True, slots=True)
class Reason:
    name: str
    condition: str
    console: str  # Chromium's console text, minus the "Access to ... blocked" prefix
    explain: str
    fix: str
    firefox: str = ""  # Firefox's name (MDN's spelling: the properties key without digits)
    headers: tuple[str, ...] = ()  # the fix as ready-to-paste header lines (templates)
    firefox_text: str = ""  # Firefox's console text after "… remote resource at "
    webkit: str = ""  # WebKit's console text (CONSOLE SECURITY ERROR …)


_ACAO = "Access-Control-Allow-Origin"
_ACAC = "Access-Control-Allow-Credentials"

_ROWS = [
    Reason(
        "WildcardOriginNotAllowed",
        "ACAO is exactly * and the request is credentialed",
        "The value of the 'Access-Control-Allow-Origin' header in the response must not be the "
        "wildcard '*' when the request's credentials mode is 'include'.",
        "credentialed request ({evidence}) but Access-Control-Allow-Origin is *",
        'reflect the origin: "Access-Control-Allow-Origin: {origin}", "Vary: Origin" and '
        '"Access-Control-Allow-Credentials: true"',
        "CORSNotSupportingCredentials",
    ),
    Reason(
        "MissingAllowOriginHeader",
        "no Access-Control-Allow-Origin header",
        "No 'Access-Control-Allow-Origin' header is present on the requested resource.",
        "no Access-Control-Allow-Origin header{status_note}",
        'add "Access-Control-Allow-Origin: {origin}"{creds_fix}',
        "CORSMissingAllowOrigin",
    ),
    Reason(
        "MultipleAllowOriginValues",
        "ACAO (all lines joined) contains a comma or a space",
        "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', but only "
        "one is allowed.",
        "Access-Control-Allow-Origin has several values '{value}'",
        'send exactly one line "Access-Control-Allow-Origin: {origin}"',
        "CORSMultipleAllowOriginNotAllowed",
    ),
    Reason(
        "InvalidAllowOriginValue",
        "ACAO does not parse as a URL",
        "The 'Access-Control-Allow-Origin' header contains the invalid value '{value}'.",
        "Access-Control-Allow-Origin has the invalid value '{value}'",
        'send the serialized origin "Access-Control-Allow-Origin: {origin}"',
        "CORSAllowOriginNotMatchingOrigin",
    ),
    Reason(
        "AllowOriginMismatch",
        "ACAO differs from the request's Origin (byte-exact: scheme, host, port, no slash)",
        "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not equal to the "
        "supplied origin.",
        "Access-Control-Allow-Origin '{value}' is not the request's origin '{origin}'",
        'send exactly "Access-Control-Allow-Origin: {origin}"',
        "CORSAllowOriginNotMatchingOrigin",
    ),
    Reason(
        "InvalidAllowCredentials",
        "credentialed request and ACAC (joined, trimmed) is not exactly 'true'",
        "The value of the 'Access-Control-Allow-Credentials' header in the response is '{value}' "
        "which must be 'true' when the request's credentials mode is 'include'.",
        "credentialed request ({evidence}) but Access-Control-Allow-Credentials is {acac_desc}",
        'add "Access-Control-Allow-Credentials: true"',
        "CORSMissingAllowCredentials",
    ),
    Reason(
        "PreflightInvalidStatus",
        "the preflight passed the CORS check but its status is not 200-299",
        "Response to preflight request doesn't pass access control check: It does not have HTTP "
        "ok status.",
        "preflight answered {status}, not 2xx{not_sent}",
        "answer OPTIONS {path} with 204 (or 200) before any auth or routing check",
        "CORSPreflightDidNotSucceed",
    ),
    Reason(
        "PreflightDisallowedRedirect",
        "the preflight was answered with a redirect",
        "Response to preflight request doesn't pass access control check: Redirect is not allowed "
        "for a preflight request.",
        "preflight answered {status} redirect to {location}{not_sent}",
        "answer OPTIONS at the requested URL itself with 204; the browser never follows a "
        "preflight redirect",
        "CORSExternalRedirectNotAllowed",
    ),
    Reason(
        "InvalidAllowMethodsPreflightResponse",
        "an Access-Control-Allow-Methods element is not a token",
        "Cannot parse Access-Control-Allow-Methods response header field in preflight response.",
        "Access-Control-Allow-Methods '{raw}' is not a comma list of tokens{not_sent}",
        'send "Access-Control-Allow-Methods: {method}" (comma-separated tokens)',
        "CORSInvalidAllowMethod",
    ),
    Reason(
        "InvalidAllowHeadersPreflightResponse",
        "an Access-Control-Allow-Headers element is not a token",
        "Cannot parse Access-Control-Allow-Headers response header field in preflight response.",
        "Access-Control-Allow-Headers '{raw}' is not a comma list of tokens{not_sent}",
        'send "Access-Control-Allow-Headers: {requested_headers}" (comma-separated tokens)',
        "CORSInvalidAllowHeader",
    ),
    Reason(
        "MethodDisallowedByPreflightResponse",
        "the method is not safelisted and not in ACAM (case-sensitive; * only without credentials)",
        "Method {value} is not allowed by Access-Control-Allow-Methods in preflight response.",
        "method {value} is not in Access-Control-Allow-Methods{star_note}{not_sent}",
        'add "Access-Control-Allow-Methods: {value}" (exactly as the page sends it)',
        "CORSMethodNotFound",
    ),
    Reason(
        "HeaderDisallowedByPreflightResponse",
        "a requested header is not in ACAH (case-insensitive; * only without credentials)",
        "Request header field {value} is not allowed by Access-Control-Allow-Headers in preflight "
        "response.",
        "request header '{value}' is not in Access-Control-Allow-Headers{star_note}{not_sent}",
        'send "Access-Control-Allow-Headers: {requested_headers}"',
        "CORSMissingAllowHeaderFromPreflight",
    ),
    Reason(
        "RedirectContainsCredentials",
        "a CORS redirect's Location carries user:pass@",
        "Redirect location '{location}' contains a username and password, which is disallowed "
        "for cross-origin requests.",
        "redirect Location {location} carries a username and password",
        "drop the user:pass@ part from the Location header",
        "CORSDidNotSucceed",
    ),
]

_ALLOW_ORIGIN = ("Access-Control-Allow-Origin: {origin}", "Vary: Origin")
_FIX_HEADERS = {
    "WildcardOriginNotAllowed": ("Access-Control-Allow-Origin: {origin}",
                                 "Access-Control-Allow-Credentials: true", "Vary: Origin"),
    "MissingAllowOriginHeader": ("Access-Control-Allow-Origin: {origin}", "{acac_line}",
                                 "Vary: Origin"),
    "MultipleAllowOriginValues": _ALLOW_ORIGIN,
    "InvalidAllowOriginValue": _ALLOW_ORIGIN,
    "AllowOriginMismatch": _ALLOW_ORIGIN,
    "InvalidAllowCredentials": ("Access-Control-Allow-Credentials: true",),
    "PreflightInvalidStatus": ("HTTP/1.1 204 No Content",),
    "PreflightDisallowedRedirect": ("HTTP/1.1 204 No Content",),
    "InvalidAllowMethodsPreflightResponse": ("Access-Control-Allow-Methods: {method}",),
    "InvalidAllowHeadersPreflightResponse": ("Access-Control-Allow-Headers: {requested_headers}",),
    "MethodDisallowedByPreflightResponse": ("Access-Control-Allow-Methods: {value}",),
    "HeaderDisallowedByPreflightResponse": ("Access-Control-Allow-Headers: {requested_headers}",),
    "RedirectContainsCredentials": ("Location: {location_clean}",),
}
_ORIGIN_NOT_ALLOWED = ("Origin {origin} is not allowed by Access-Control-Allow-Origin. "
                       "Status code: {status}")
_FF_NOT_MATCHING = ("{url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ does not match "
                    "‘{value}’).")
# Firefox's text (after "… remote resource at ") and WebKit's, per reason: Firefox's from
# its security.properties (153 ESR), WebKit's as WebKitGTK 2.50 printed them.
_TEXTS = {
    "WildcardOriginNotAllowed": (
        ("‘{url}’. (Reason: Credential is not supported if the CORS header "
         "‘Access-Control-Allow-Origin’ is ‘*’)."),
        ("Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is "
         "true.")),
    "MissingAllowOriginHeader": (
        ("{url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status "
         "code: {status}."),
        _ORIGIN_NOT_ALLOWED),
    "MultipleAllowOriginValues": (
        ("{url}. (Reason: Multiple CORS header ‘Access-Control-Allow-Origin’ not "
         "allowed)."),
        "Access-Control-Allow-Origin cannot contain more than one origin."),
    "InvalidAllowOriginValue": (
        _FF_NOT_MATCHING,
        _ORIGIN_NOT_ALLOWED),
    "AllowOriginMismatch": (
        _FF_NOT_MATCHING,
        _ORIGIN_NOT_ALLOWED),
    "InvalidAllowCredentials": (
        ("{url}. (Reason: expected ‘true’ in CORS header "
         "‘Access-Control-Allow-Credentials’)."),
        ("Credentials flag is true, but Access-Control-Allow-Credentials is not "
         "\"true\".")),
    "PreflightInvalidStatus": (
        ("{url}. (Reason: CORS preflight response did not succeed). Status code: "
         "{status}."),
        "Preflight response is not successful. Status code: {status}"),
    "PreflightDisallowedRedirect": (
        "{url}. (Reason: CORS request external redirect not allowed).",
        "Preflight response is not successful. Status code: {status}"),
    "InvalidAllowMethodsPreflightResponse": (
        ("{url}. (Reason: invalid token ‘{token}’ in CORS header "
         "‘Access-Control-Allow-Methods’)."),
        "Header Access-Control-Allow-Methods has an invalid value: {raw}"),
    "InvalidAllowHeadersPreflightResponse": (
        ("{url}. (Reason: invalid token ‘{token}’ in CORS header "
         "‘Access-Control-Allow-Headers’)."),
        "Header Access-Control-Allow-Headers has an invalid value: {raw}"),
    "MethodDisallowedByPreflightResponse": (
        ("{url}. (Reason: Did not find method in CORS header "
         "‘Access-Control-Allow-Methods’)."),
        "Method {value} is not allowed by Access-Control-Allow-Methods."),
    "HeaderDisallowedByPreflightResponse": (
        ("{url}. (Reason: header ‘{value}’ is not allowed according to header "
         "‘Access-Control-Allow-Headers’ from CORS preflight response)."),
        ("Request header field {header} is not allowed by "
         "Access-Control-Allow-Headers.")),
    "RedirectContainsCredentials": (
        "{url}. (Reason: CORS request did not succeed). Status code: (null).",
        "redirection URL {next_url} has credentials"),
}
_ROWS = [replace(r, headers=_FIX_HEADERS.get(r.name, ()), firefox_text=_TEXTS[r.name][0],
                 webkit=_TEXTS[r.name][1]) for r in _ROWS]

# The preflight variants of the CORS check: same conditions on the preflight response,
# judged with the actual request's credentials mode.
_PREFLIGHT_VARIANTS = (
    "WildcardOriginNotAllowed", "MissingAllowOriginHeader", "MultipleAllowOriginValues",
    "InvalidAllowOriginValue", "AllowOriginMismatch", "InvalidAllowCredentials",
)
_PREFIX = "Response to preflight request doesn't pass access control check: "


def _preflight_variant(r: Reason) -> Reason:
    return Reason(
        "Preflight" + r.name,
        "on the preflight response: " + r.condition,
        _PREFIX + r.console,
        "preflight: " + r.explain + "{not_sent}",
        r.fix.replace("add ", "on the OPTIONS response add ", 1)
        if r.fix.startswith("add ") else r.fix + " on the OPTIONS response",
        r.firefox,
        r.headers,
        r.firefox_text,
        r.webkit,
    )


def _table() -> dict[CorsError, Reason]:
    rows = {CorsError(r.name): r for r in _ROWS}
    for name in _PREFLIGHT_VARIANTS:
        v = _preflight_variant(rows[CorsError(name)])
        rows[CorsError(v.name)] = v
    assert set(rows) == set(CorsError), set(CorsError) ^ set(rows)
    for r in rows.values():
        _check_fields(r.name, (r.console, r.explain, r.fix, *r.headers, r.firefox_text, r.webkit),
                     FIELDS)
        assert r.firefox_text and r.webkit, r.name
    return {k: rows[k] for k in CorsError}


def _check_fields(name: str, templates: tuple[str, ...], fields: frozenset[str]) -> None:
    """Every field a row's templates name is one of ``fields`` (checked at import)."""
    for template in templates:
        used = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert used <= fields, (name, used - fields)


REASONS: dict[CorsError, Reason] = _table()  # in CorsError's order


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, fields: dict[str, object]) -> str:
    """Fill a template; a field that is missing or None renders empty."""
    return template.format_map(_Blank({k: v for k, v in fields.items() if v is not None}))


# -- cookies ---------------------------------------------------------------------------
# The second closed set of the table: why the browser refused to store a Set-Cookie line
# or did not send a cookie it had. DevTools' own names (Network.*ExtraInfo
# blockedReasons) where DevTools names it; the cases the browser handles silently have
# names of ours, marked ``devtools=False``. Fields: ``name`` (the cookie's), ``host``,
# ``path``, ``scheme`` (the request's), ``site`` and ``top`` (the request's site and the
# top-level site, ≈ the page's), ``domain``, ``cookie_path``, ``size``, ``partition``,
# ``kind`` (fetch, navigation, …), ``registrable``.


class CookieReason(StrEnum):
    SameSiteNoneInsecure = "SameSiteNoneInsecure"
    SecureOnly = "SecureOnly"
    InvalidDomain = "InvalidDomain"
    InvalidPrefix = "InvalidPrefix"
    NameValuePairExceedsMaxSize = "NameValuePairExceedsMaxSize"
    OverwriteSecure = "OverwriteSecure"
    UserPreferences = "UserPreferences"
    SchemefulSameSiteLax = "SchemefulSameSiteLax"
    SchemefulSameSiteStrict = "SchemefulSameSiteStrict"
    SchemefulSameSiteUnspecifiedTreatedAsLax = "SchemefulSameSiteUnspecifiedTreatedAsLax"
    NotOnPath = "NotOnPath"
    DomainMismatch = "DomainMismatch"
    # silent: the browser says nothing
    PartitionedNotSecure = "PartitionedNotSecure"
    PreflightResponse = "PreflightResponse"
    NotCredentialed = "NotCredentialed"
    OtherPartition = "OtherPartition"


COOKIE_FIELDS = frozenset((
    "name", "host", "path", "scheme", "site", "top", "domain", "cookie_path", "size",
    "partition", "kind", "registrable",
))
_CROSS_FIX = ("Set-Cookie: {name}=…; SameSite=None; Secure; Partitioned (or serve the API "
              "same-site as the page, or send a token in Authorization)")


@dataclass(frozen=True, slots=True)
class CookieText:
    name: str
    stored: str  # when a Set-Cookie line was refused for this reason
    sent: str  # when a stored cookie was not sent for this reason ("" : not a send reason)
    fix: str
    devtools: bool = True


_COOKIE_ROWS = [
    CookieText("SameSiteNoneInsecure",
               "SameSite=None without Secure: Chromium refuses to store it", "",
               "add Secure: Set-Cookie: {name}=…; SameSite=None; Secure"),
    CookieText("SecureOnly",
               "Secure cookie set from {scheme}://{host}, which is not a secure URL",
               "Secure cookie, but this request goes to {scheme}://{host}, which is not secure",
               "serve {host} over https (a Secure cookie travels only there)"),
    CookieText("InvalidDomain",
               "Domain={domain} does not cover {host} or is a public suffix", "",
               "drop Domain= (a host-only cookie) or set Domain={registrable}"),
    CookieText("InvalidPrefix",
               "the {name} prefix needs Secure (and for __Host-: Path=/ and no Domain=)", "",
               "Set-Cookie: {name}=…; Secure; Path=/ (no Domain= for __Host-)"),
    CookieText("NameValuePairExceedsMaxSize",
               "name and value are {size} bytes, over Chromium's 4096", "",
               "keep a short session id in the cookie, the data on the server"),
    CookieText("OverwriteSecure",
               "a non-Secure cookie from http cannot replace the Secure cookie {name}", "",
               "set it from https, with Secure"),
    CookieText("UserPreferences",
               "set by a cross-site request ({site} inside {top}) while third-party cookies "
               "are blocked",
               "third-party cookies are blocked ({site} requested from a {top} page)",
               _CROSS_FIX),
    CookieText("SchemefulSameSiteLax",
               "SameSite=Lax, set by a cross-site request ({site} inside {top})",
               "SameSite=Lax on a cross-site {kind} ({top} page → {site})", _CROSS_FIX),
    CookieText("SchemefulSameSiteStrict",
               "SameSite=Strict, set by a cross-site request ({site} inside {top})",
               "SameSite=Strict on a cross-site {kind} ({top} page → {site})", _CROSS_FIX),
    CookieText("SchemefulSameSiteUnspecifiedTreatedAsLax",
               "no SameSite (treated as Lax), set by a cross-site request ({site} inside {top})",
               "no SameSite (treated as Lax) on a cross-site {kind} ({top} page → {site})",
               _CROSS_FIX),
    CookieText("NotOnPath", "",
               "Path={cookie_path} does not cover {path}",
               "Set-Cookie: {name}=…; Path=/ (the default Path is the setting URL's directory)"),
    CookieText("DomainMismatch", "",
               "a cookie of {domain}, but this request goes to {host}",
               "set it with Domain={registrable} to share it across {registrable}"),
    CookieText("PartitionedNotSecure",
               "Partitioned without Secure: dropped without a word (no DevTools entry)", "",
               "Set-Cookie: {name}=…; Secure; SameSite=None; Partitioned", devtools=False),
    CookieText("PreflightResponse",
               "on a preflight (OPTIONS) response: the browser never stores those", "",
               "set the cookie on the actual response, not the preflight", devtools=False),
    CookieText("NotCredentialed",
               "on a cross-origin response stored only if the page sent the request with "
               "credentials: 'include' (XHR: withCredentials)", "",
               "fetch(url, {{credentials: 'include'}}) on the request that sets it",
               devtools=False),
    CookieText("OtherPartition", "",
               "partitioned under the top-level site {partition}; this page is {top}",
               "a partitioned cookie is read only under the top-level site that set it",
               devtools=False),
]


def _cookie_table() -> dict[CookieReason, CookieText]:
    rows = {CookieReason(r.name): r for r in _COOKIE_ROWS}
    assert set(rows) == set(CookieReason), set(CookieReason) ^ set(rows)
    for r in rows.values():
        _check_fields(r.name, (r.stored, r.sent, r.fix), COOKIE_FIELDS)
    return {k: rows[k] for k in CookieReason}


COOKIE_REASONS: dict[CookieReason, CookieText] = _cookie_table()


# -- security -------------------------------------------------------------------------
# The third closed set: servers that let other sites read what they should not. Fields:
# ``endpoint`` (scheme://host/path, no query), ``forged`` (the origin trusted), ``page``
# (the page's origin), ``site`` (the page's registrable domain), ``count``, ``origins``.


class SecurityIssue(StrEnum):
    OriginReflected = "origin-reflected"
    NullTrusted = "null-trusted"
    InsecureOriginTrusted = "insecure-origin-trusted"
    SuffixMatch = "suffix-match"
    PrefixMatch = "prefix-match"
    VaryMissing = "vary-missing"
    WildcardWithCredentials = "wildcard-with-credentials"


SECURITY_FIELDS = frozenset(("endpoint", "forged", "page", "site", "count", "origins"))
HIGH, MEDIUM, LOW = "high", "medium", "low"


@dataclass(frozen=True, slots=True)
class IssueText:
    name: str
    severity: str
    detail: str  # what was seen or proved
    attack: str  # the attack, in two sentences
    fix: str
    seen: str = ""  # the detail when only passive evidence shows it (not proof)


_SECURITY_ROWS = [
    IssueText("origin-reflected", HIGH,
              "{endpoint} trusts any origin with credentials: it answered the unrelated origin "
              "{forged} with Access-Control-Allow-Origin: {forged} and "
              "Access-Control-Allow-Credentials: true",
              "Any web page the user visits can call this API with the user's cookies and read "
              "the answer. Every logged-in user's data here is readable by every site.",
              "check the Origin against an explicit allowlist of exact origins (e.g. {page}) "
              "before echoing it, and send Vary: Origin",
              "{endpoint} answered {count} distinct sites with their own origin and "
              "Access-Control-Allow-Credentials: true ({origins}): evidence, not proof, that it "
              "echoes any origin (cors.probe, or --set cors_creds_probe=true, proves it)"),
    IssueText("null-trusted", HIGH,
              "{endpoint} trusts the origin null with credentials",
              "Sandboxed iframes, data: and file: pages all send Origin: null, so any site can "
              "frame a sandboxed page that reads this API with the user's cookies. Allowing "
              "null is never safe.",
              "never allow null (a fetch redirected across origins, which needs it, should be "
              "answered 401 instead of redirected)"),
    IssueText("insecure-origin-trusted", MEDIUM,
              "{endpoint}, served over https, trusts the plain-http origin {forged} with "
              "credentials",
              "Anyone on the user's network can inject script into the http page and read "
              "this API with the user's cookies. The https API is only as safe as its least "
              "secure trusted origin.",
              "allow only https origins (and redirect the http site to https, with HSTS)"),
    IssueText("suffix-match", HIGH,
              "{endpoint} trusts {forged} with credentials, a look-alike that merely ends "
              "with {site}",
              "An attacker registers a domain that ends with the same letters (like {forged}) "
              "and reads this API with the user's cookies from it. A check such as "
              "endswith(\"{site}\") or an unanchored regex is the usual cause.",
              "compare the whole origin exactly; to allow subdomains, match the host against "
              "\".{site}\" with the dot, or a regex anchored at both ends"),
    IssueText("prefix-match", HIGH,
              "{endpoint} trusts {forged} with credentials, which merely starts with {page}",
              "An attacker uses a host of their own that begins with the trusted origin (like "
              "{forged}) and reads this API with the user's cookies from it. A startswith "
              "check or a regex without $ is the usual cause.",
              "compare the whole origin exactly (a regex anchored at both ends)"),
    IssueText("vary-missing", MEDIUM,
              "{endpoint} echoes the request's Origin in Access-Control-Allow-Origin without "
              "Vary: Origin",
              "A shared cache (a CDN, a proxy) can store the answer made for one origin and "
              "serve it to another: broken for one site, or one site's answer to another. The "
              "browser's own cache can mix them up too.",
              "send Vary: Origin on every response whose Access-Control-Allow-Origin depends "
              "on the request's Origin",
              "{endpoint} answered {count} origins each with its own "
              "Access-Control-Allow-Origin ({origins}) without Vary: Origin"),
    IssueText("wildcard-with-credentials", LOW,
              "{endpoint} sends Access-Control-Allow-Origin: * with "
              "Access-Control-Allow-Credentials: true",
              "Browsers refuse this pair for every credentialed request, so it only breaks "
              "them; it comes from copied configuration (cors({{origin: '*', credentials: "
              "true}})). The usual next step, echoing any origin, is the dangerous one.",
              "send an allowlisted origin exactly (with Vary: Origin) instead of *, or drop "
              "Access-Control-Allow-Credentials if no credentials are needed"),
]


def _security_table() -> dict[SecurityIssue, IssueText]:
    rows = {SecurityIssue(r.name): r for r in _SECURITY_ROWS}
    assert set(rows) == set(SecurityIssue), set(SecurityIssue) ^ set(rows)
    for r in rows.values():
        assert r.severity in (HIGH, MEDIUM, LOW), r.name
        _check_fields(r.name, (r.detail, r.attack, r.fix, r.seen), SECURITY_FIELDS)
    return {k: rows[k] for k in SecurityIssue}


SECURITY_ISSUES: dict[SecurityIssue, IssueText] = _security_table()
