"""Chromium's CORS checks as pure functions over normalized header values.

Order and semantics follow services/network/public/cpp/cors/cors.cc (CheckAccess) and
services/network/cors/preflight_controller.cc / preflight_result.cc; see
shared/cors-reasons.md §1, §2 and §9.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .http import (
    FORBIDDEN_RESPONSE_HEADERS,
    SAFELISTED_METHODS,
    SAFELISTED_RESPONSE_HEADERS,
    location_userinfo,
    parse_token_list,
    parses_as_url,
)

CORS = "cors"
PREFLIGHT = "preflight"


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str
    parameter: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _note(checks: list[dict[str, Any]] | None, name: str, ok: bool, got: str | None,
          want: str) -> None:
    """Record one check (when the caller keeps them)."""
    if checks is not None:
        checks.append({"check": name, "ok": ok, "got": got, "want": want})


def check_access(
    acao: str | None, acac: str | None, origin: str, include: bool,
    checks: list[dict[str, Any]] | None = None,
) -> Failure | None:
    """Chromium's cors::CheckAccess: ACAO first, then ACAC when credentialed.
    ``origin`` is the request's Origin header value (``null`` once tainted)."""
    if acao == "*":
        if include:
            _note(checks, "Access-Control-Allow-Origin", False, acao,
                  f"{origin} (* is not allowed with credentials)")
            return Failure("WildcardOriginNotAllowed", "")
        _note(checks, "Access-Control-Allow-Origin", True, acao, f"{origin} or *")
    elif acao is None:
        _note(checks, "Access-Control-Allow-Origin", False, None, origin)
        return Failure("MissingAllowOriginHeader", "")
    elif acao != origin:
        _note(checks, "Access-Control-Allow-Origin", False, acao, origin)
        if "," in acao or " " in acao:
            return Failure("MultipleAllowOriginValues", acao)
        if acao == "null":
            return Failure("AllowOriginMismatch", acao)
        if not parses_as_url(acao):
            return Failure("InvalidAllowOriginValue", acao)
        return Failure("AllowOriginMismatch", acao)
    else:
        _note(checks, "Access-Control-Allow-Origin", True, acao, origin)
    if include:
        ok = acac == "true"
        _note(checks, "Access-Control-Allow-Credentials", ok, acac, "true")
        if not ok:
            desc = "missing" if acac is None else f"'{acac}', not exactly 'true'"
            return Failure("InvalidAllowCredentials", acac or "", {"acac_desc": desc})
    return None


def is_redirect(status: int | None, location: str | None) -> bool:
    """A 3xx with a Location is a redirect for the network stack; without one it is a
    plain (bad, for a preflight) status."""
    return status is not None and 300 <= status < 400 and location is not None


def check_redirect_location(location: str) -> Failure | None:
    if location_userinfo(location):
        return Failure("RedirectContainsCredentials", "")
    return None


@dataclass(frozen=True, slots=True)
class PreflightRequest:
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


def check_preflight(
    req: PreflightRequest, status: int | None, headers: Mapping[str, str], include: bool,
    checks: list[dict[str, Any]] | None = None, warnings: list[str] | None = None,
) -> Failure | None:
    """The preflight response, in Chromium's order: redirect, CORS check (Preflight*
    names, with the actual request's credentials mode), status, list parsing, method,
    headers. ``headers`` maps lower-case names to normalized values
    (``http.normalized_index``)."""
    location = headers.get("location")
    if is_redirect(status, location):
        _note(checks, "no redirect", False, str(status), "2xx")
        return Failure("PreflightDisallowedRedirect", "", {"location": location or ""})
    acao = headers.get("access-control-allow-origin")
    acac = headers.get("access-control-allow-credentials")
    f = check_access(acao, acac, req.origin, include, checks)
    if f is not None:
        return Failure("Preflight" + f.reason, f.parameter, f.fields)
    ok_status = status is not None and 200 <= status < 300
    _note(checks, "status", ok_status, str(status), "200-299")
    if not ok_status:
        return Failure("PreflightInvalidStatus", "")
    acam_raw = headers.get("access-control-allow-methods")
    acah_raw = headers.get("access-control-allow-headers")
    methods = parse_token_list(acam_raw)
    if methods is None:
        _note(checks, "Access-Control-Allow-Methods parses", False, acam_raw, "tokens")
        return Failure("InvalidAllowMethodsPreflightResponse", "", {"raw": acam_raw or ""})
    allowed_headers = parse_token_list(acah_raw)
    if allowed_headers is None:
        _note(checks, "Access-Control-Allow-Headers parses", False, acah_raw, "tokens")
        return Failure("InvalidAllowHeadersPreflightResponse", "",
                       {"raw": acah_raw or "", "requested_headers": ", ".join(req.headers)})
    f = _check_method(req.method, methods, include, acam_raw, checks)
    if f is not None:
        return f
    f = _check_headers(req.headers, allowed_headers, include, acah_raw, checks, warnings)
    if f is not None:
        return f
    if req.private_network and warnings is not None:
        acapn = headers.get("access-control-allow-private-network")
        if acapn != "true":
            warnings.append(
                "Private Network Access: the preflight asked "
                "Access-Control-Request-Private-Network: true and the answer lacks "
                '"Access-Control-Allow-Private-Network: true" (older Chromium blocked this; '
                "current Chromium uses Local Network Access permissions instead)"
            )
    return None


def _check_method(method: str, allowed: list[str], include: bool, raw: str | None,
                  checks: list[dict[str, Any]] | None) -> Failure | None:
    ok = (
        method in allowed
        or method.upper() in SAFELISTED_METHODS
        or ("*" in allowed and not include)
    )
    _note(checks, "Access-Control-Allow-Methods", ok, raw, method)
    if ok:
        return None
    star = " (* does not count with credentials)" if "*" in allowed and include else ""
    return Failure("MethodDisallowedByPreflightResponse", method, {"star_note": star})


def _check_headers(requested: tuple[str, ...], allowed: list[str], include: bool,
                   raw: str | None, checks: list[dict[str, Any]] | None,
                   warnings: list[str] | None) -> Failure | None:
    allowed_lower = {a.lower() for a in allowed}
    star = "*" in allowed_lower and not include
    for name in requested:
        if name in allowed_lower:
            continue
        if star:
            if name == "authorization" and warnings is not None:
                warnings.append(
                    "Chromium lets Access-Control-Allow-Headers: * cover Authorization; the Fetch "
                    "standard does not (Firefox warns, Safari may block): list "
                    '"authorization" explicitly'
                )
            continue
        _note(checks, "Access-Control-Allow-Headers", False, raw, ",".join(requested))
        note = " (* does not count with credentials)" if "*" in allowed_lower else ""
        return Failure("HeaderDisallowedByPreflightResponse", name,
                       {"star_note": note, "requested_headers": ", ".join(requested)})
    if requested:
        _note(checks, "Access-Control-Allow-Headers", True, raw, ",".join(requested))
    return None


def hidden_response_headers(headers: Mapping[str, str], include: bool) -> list[str]:
    """Response headers JavaScript cannot read although the server seems to mean to
    expose them: ACEH ``*`` under credentials (a literal name then), or an ACEH list that
    does not parse (Blink drops the whole list). Empty when nothing is surprising.
    ``headers`` is the normalized index (``http.normalized_index``), in header order."""
    raw = headers.get("access-control-expose-headers")
    if raw is None:
        return []
    exposed = parse_token_list(raw)
    if exposed is not None and not ("*" in exposed and include):
        return []
    named = {e.lower() for e in exposed or ()}
    return [name for name in headers
            if not (name in SAFELISTED_RESPONSE_HEADERS or name in FORBIDDEN_RESPONSE_HEADERS
                    or name in named or name.startswith("access-control-"))]
