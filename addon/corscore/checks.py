"""Chromium's CORS checks as pure functions over normalized header values: the
judgements. Each returns a ``Verdict``: the first failure in Chromium's order (or
None), every check made with the values compared, and browser-divergence warnings.

Order and semantics follow services/network/public/cpp/cors/cors.cc (CheckAccess) and
services/network/cors/preflight_controller.cc / preflight_result.cc; see
shared/cors-reasons.md §1, §2 and §9.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from .http import (
    FORBIDDEN_RESPONSE_HEADERS,
    SAFELISTED_METHODS,
    SAFELISTED_RESPONSE_HEADERS,
    location_userinfo,
    parse_token_list,
    parses_as_url,
)
from .reasons import CorsError as E

Fields = tuple[tuple[str, str], ...]  # a reason's text parameters, as (name, value) pairs


class Failure(NamedTuple):
    reason: E
    parameter: str | None = None  # Chromium's failedParameter
    fields: Fields = ()


class Check(NamedTuple):
    """One check made: what was compared, and whether it passed."""

    check: str
    ok: bool
    got: str | None
    want: str


class Verdict(NamedTuple):
    failure: Failure | None
    checks: tuple[Check, ...] = ()
    warnings: tuple[str, ...] = ()


class PreflightRequest(NamedTuple):
    """What the preflight asked for: the page's method and its unsafe header names."""

    origin: str
    method: str
    headers: tuple[str, ...]  # lower-cased, as listed in Access-Control-Request-Headers
    private_network: bool = False


def parse_preflight_request(origin: str, acrm: str, acrh: str | None,
                            acrpn: str | None) -> PreflightRequest:
    names = tuple(
        h.strip(" \t").lower() for h in (acrh or "").split(",") if h.strip(" \t")
    )
    return PreflightRequest(origin, acrm.strip(" \t"), names, (acrpn or "").strip() == "true")


def judge_access(acao: str | None, acac: str | None, origin: str, include: bool) -> Verdict:
    """Chromium's cors::CheckAccess on an actual response or a redirect hop."""
    checks: list[Check] = []
    return Verdict(_access(acao, acac, origin, include, checks), tuple(checks))


def _access(acao: str | None, acac: str | None, origin: str, include: bool,
            checks: list[Check]) -> Failure | None:
    """ACAO first, then ACAC when credentialed. ``origin`` is the request's Origin
    header value (``null`` once tainted)."""
    if acao == "*":
        if include:
            checks.append(Check("Access-Control-Allow-Origin", False, acao,
                                f"{origin} (* is not allowed with credentials)"))
            return Failure(E.WildcardOriginNotAllowed, "")
        checks.append(Check("Access-Control-Allow-Origin", True, acao, f"{origin} or *"))
    elif acao is None:
        checks.append(Check("Access-Control-Allow-Origin", False, None, origin))
        return Failure(E.MissingAllowOriginHeader, "")
    elif acao != origin:
        checks.append(Check("Access-Control-Allow-Origin", False, acao, origin))
        if "," in acao or " " in acao:
            return Failure(E.MultipleAllowOriginValues, acao)
        if acao == "null" or parses_as_url(acao):
            return Failure(E.AllowOriginMismatch, acao)
        return Failure(E.InvalidAllowOriginValue, acao)
    else:
        checks.append(Check("Access-Control-Allow-Origin", True, acao, origin))
    if include:
        ok = acac == "true"
        checks.append(Check("Access-Control-Allow-Credentials", ok, acac, "true"))
        if not ok:
            desc = "missing" if acac is None else f"'{acac}', not exactly 'true'"
            return Failure(E.InvalidAllowCredentials, acac or "", (("acac_desc", desc),))
    return None


def is_redirect(status: int | None, location: str | None) -> bool:
    """A 3xx with a Location is a redirect for the network stack; without one it is a
    plain (bad, for a preflight) status."""
    return status is not None and 300 <= status < 400 and location is not None


def check_redirect_location(location: str) -> Failure | None:
    if location_userinfo(location):
        return Failure(E.RedirectContainsCredentials, "")
    return None


@lru_cache(maxsize=512)
def judge_preflight(req: PreflightRequest, status: int | None, location: str | None,
                    acao: str | None, acac: str | None, acam: str | None, acah: str | None,
                    acapn: str | None, include: bool) -> Verdict:
    """The preflight response, in Chromium's order: redirect, CORS check (Preflight*
    names, with the actual request's credentials mode), status, list parsing, method,
    headers. Memoized: an app repeats the same preflight whenever the browser's
    preflight cache expires."""
    checks: list[Check] = []
    warnings: list[str] = []
    failure = _preflight(req, status, location, acao, acac, acam, acah, acapn, include,
                         checks, warnings)
    return Verdict(failure, tuple(checks), tuple(warnings))


def _preflight(req: PreflightRequest, status: int | None, location: str | None,
               acao: str | None, acac: str | None, acam: str | None, acah: str | None,
               acapn: str | None, include: bool, checks: list[Check],
               warnings: list[str]) -> Failure | None:
    if is_redirect(status, location):
        checks.append(Check("no redirect", False, str(status), "2xx"))
        return Failure(E.PreflightDisallowedRedirect, "", (("location", location or ""),))
    f = _access(acao, acac, req.origin, include, checks)
    if f is not None:
        return Failure(E("Preflight" + f.reason), f.parameter, f.fields)
    ok_status = status is not None and 200 <= status < 300
    checks.append(Check("status", ok_status, str(status), "200-299"))
    if not ok_status:
        return Failure(E.PreflightInvalidStatus, "")
    methods = parse_token_list(acam)
    if methods is None:
        checks.append(Check("Access-Control-Allow-Methods parses", False, acam, "tokens"))
        return Failure(E.InvalidAllowMethodsPreflightResponse, "", (("raw", acam or ""),))
    allowed_headers = parse_token_list(acah)
    if allowed_headers is None:
        checks.append(Check("Access-Control-Allow-Headers parses", False, acah, "tokens"))
        return Failure(E.InvalidAllowHeadersPreflightResponse, "",
                       (("raw", acah or ""), ("requested_headers", ", ".join(req.headers))))
    f = _method(req.method, methods, include, acam, checks)
    if f is None:
        f = _headers(req.headers, allowed_headers, include, acah, checks, warnings)
    if f is None and req.private_network and acapn != "true":
        warnings.append(
            "Private Network Access: the preflight asked "
            "Access-Control-Request-Private-Network: true and the answer lacks "
            '"Access-Control-Allow-Private-Network: true" (older Chromium blocked this; '
            "current Chromium uses Local Network Access permissions instead)"
        )
    return f


def _method(method: str, allowed: list[str], include: bool, raw: str | None,
            checks: list[Check]) -> Failure | None:
    ok = (
        method in allowed
        or method.upper() in SAFELISTED_METHODS
        or ("*" in allowed and not include)
    )
    checks.append(Check("Access-Control-Allow-Methods", ok, raw, method))
    if ok:
        return None
    star = " (* does not count with credentials)" if "*" in allowed and include else ""
    return Failure(E.MethodDisallowedByPreflightResponse, method, (("star_note", star),))


def _headers(requested: tuple[str, ...], allowed: list[str], include: bool, raw: str | None,
             checks: list[Check], warnings: list[str]) -> Failure | None:
    allowed_lower = {a.lower() for a in allowed}
    star = "*" in allowed_lower and not include
    for name in requested:
        if name in allowed_lower:
            continue
        if star:
            if name == "authorization":
                warnings.append(
                    "Access-Control-Allow-Headers: * covers Authorization in Chromium, Firefox "
                    "and WebKit today but not in the Fetch standard, and Firefox warns it will "
                    "stop (CORSAllowHeaderFromPreflightDeprecation): list \"authorization\" "
                    "explicitly"
                )
            continue
        checks.append(Check("Access-Control-Allow-Headers", False, raw, ",".join(requested)))
        note = " (* does not count with credentials)" if "*" in allowed_lower else ""
        return Failure(E.HeaderDisallowedByPreflightResponse, name,
                       (("star_note", note), ("requested_headers", ", ".join(requested))))
    if requested:
        checks.append(Check("Access-Control-Allow-Headers", True, raw, ",".join(requested)))
    return None


def hidden_response_headers(aceh: str | None, names: tuple[str, ...],
                            include: bool) -> tuple[str, ...]:
    """Every response header JavaScript cannot read on a readable response: neither
    CORS-safelisted nor exposed by Access-Control-Expose-Headers (``*`` exposes all but
    without credentials only; a list that does not parse exposes nothing: Blink drops
    it), and ``Set-Cookie``/``Set-Cookie2`` always. ``names``: every response header's
    name, lower-case, in order, once each."""
    exposed = parse_token_list(aceh)
    star = exposed is not None and "*" in exposed and not include
    named = {e.lower() for e in exposed or ()}
    return tuple(name for name in names
                 if name in FORBIDDEN_RESPONSE_HEADERS
                 or not (star or name in SAFELISTED_RESPONSE_HEADERS or name in named))
