"""Security findings: servers that let other sites read what they should not. Pure
functions over header values; what persists between exchanges (origins seen per
endpoint, endpoints probed, probes in flight) lives in ``state``.

- ``passive``: what one exchange proves (``null`` or an http origin trusted with
  credentials, ``*`` with credentials); ``seen_origins``: what several exchanges of one
  endpoint show (several sites answered with their own origin: evidence, not proof);
- ``plan`` and ``conclude``: the opt-in probe. ``plan`` gives the forged origins to send
  for one credentialed endpoint; ``conclude`` judges the answers. Whether anything is sent
  is the caller's business: this module never does IO.

Trusted "with credentials" means answered ``Access-Control-Allow-Origin: <that origin>``
and ``Access-Control-Allow-Credentials: true``: only then can that origin's page read a
credentialed response."""

from __future__ import annotations

from typing import NamedTuple

from .cookies import registrable, split_url
from .http import HTTP_WHITESPACE, origin_of, without_query
from .reasons import HIGH, LOW, MEDIUM, SECURITY_ISSUES, SecurityIssue as S, render as fill

PROBE_HOST = "cors-creds-probe.example"  # .example: reserved, never anyone's site


class SecurityFinding(NamedTuple):
    issue: S
    severity: str
    detail: str
    fix: str
    attack: str
    evidence: tuple[tuple[str, str], ...]  # what showed it (origins, header values): no secret
    confidence: str = "proof"  # or "evidence" (passive, several flows: not proof)


def _finding(issue: S, fields: dict[str, str], evidence: dict[str, str],
             seen: bool = False, severity: str | None = None,
             proof: bool = True) -> SecurityFinding:
    """``seen``: the detail of what several flows showed (the row's ``seen`` text);
    ``proof``: False where that is evidence only."""
    row = SECURITY_ISSUES[issue]
    return SecurityFinding(issue, severity or row.severity,
                           fill(row.seen if seen else row.detail, fields), fill(row.fix, fields),
                           fill(row.attack, fields), tuple(evidence.items()),
                           "proof" if proof else "evidence")


def _vary_origin(vary: str | None) -> bool:
    return vary is not None and any(
        v.strip(HTTP_WHITESPACE).lower() in ("origin", "*") for v in vary.split(","))


def _not_shared(cache_control: str | None) -> bool:
    """A response no shared cache keeps: Vary does not matter there."""
    cc = (cache_control or "").lower()
    return "no-store" in cc or "private" in cc


def _page_fields(url: str, page: str) -> dict[str, str]:
    scheme, host, _ = split_url(page) if page not in ("", "null") else ("", "", "")
    return {"endpoint": without_query(url), "page": page, "site": registrable(host) or host}


def passive(url: str, origin: str, acao: str | None, acac: str | None) -> tuple[SecurityFinding, ...]:
    """What this one actual (or redirect) response proves."""
    if acao is None or acac != "true":
        return ()
    if acao == "*":
        issue, forged = S.WildcardWithCredentials, ""
    elif acao == "null":
        issue, forged = S.NullTrusted, "null"
    elif url.startswith("https:") and acao.startswith("http://") and not _loopback(acao):
        issue, forged = S.InsecureOriginTrusted, acao
    else:
        return ()
    ev = {"origin": origin, "access-control-allow-origin": acao,
          "access-control-allow-credentials": acac}
    return (_finding(issue, {**_page_fields(url, origin), "forged": forged}, ev),)


def _loopback(origin: str) -> bool:
    host = split_url(origin)[1]
    return host in ("localhost", "[::1]") or host.startswith("127.")


def reflected(origin: str, acao: str | None) -> bool:
    """Access-Control-Allow-Origin is the request's own (serialized) origin."""
    return acao is not None and acao == origin and origin not in ("null", "*") and \
        origin_of(origin) == origin


SEVERAL_SITES = 3  # distinct sites answered with their own origin: evidence of echoing


def seen_origins(url: str, origins: tuple[str, ...], credentialed: bool, vary: str | None,
                 cache_control: str | None, said: frozenset[S]) -> tuple[SecurityFinding, ...]:
    """What the endpoint's exchanges so far show: ``origins``, those it answered with
    their own origin (credentialed: with ACAC true); ``said``: issues already reported
    for this endpoint (each once)."""
    out = []
    shown = ", ".join(origins[:5]) + (" …" if len(origins) > 5 else "")
    sites = {registrable(split_url(o)[1]) or split_url(o)[1] for o in origins}
    fields = {"endpoint": without_query(url), "count": str(len(origins)), "origins": shown,
              "page": origins[-1] if origins else "", "site": ""}
    if credentialed and len(sites) >= SEVERAL_SITES and S.OriginReflected not in said:
        out.append(_finding(S.OriginReflected, fields, {"origins": shown}, seen=True,
                            severity=MEDIUM, proof=False))
    if len(origins) >= 2 and not _vary_origin(vary) and not _not_shared(cache_control) \
            and S.VaryMissing not in said:
        out.append(_finding(S.VaryMissing, fields, {"origins": shown, "vary": vary or "(none)"},
                            seen=True, severity=MEDIUM if credentialed else LOW))
    return tuple(out)


# -- the probe -------------------------------------------------------------------------

UNRELATED, NULL, HTTP, SUFFIX, PREFIX, SUBDOMAIN = (
    "unrelated", "null", "http", "suffix", "prefix", "subdomain")


class Probe(NamedTuple):
    label: str  # what the forged origin tests
    origin: str


class Answer(NamedTuple):
    """What the server answered a probe (None for a probe that got no answer)."""

    status: int
    acao: str | None
    acac: str | None
    vary: str | None
    cache_control: str | None


def plan(page: str, url: str) -> tuple[Probe, ...]:
    """The forged origins to try on one credentialed endpoint called from ``page``: an
    unrelated origin, null, the page's origin over http (an https page), a look-alike
    ending with the page's site and one starting with the page's origin, and a subdomain
    of the API's site."""
    scheme, host, _ = split_url(page)
    if scheme not in ("http", "https") or not host:
        return ()
    site = registrable(host) or host
    port = page[len(f"{scheme}://{host}"):]  # ":8443" or ""
    api_scheme, api_host, _ = split_url(url)
    api_site = registrable(api_host)
    out = [Probe(UNRELATED, f"https://{PROBE_HOST}"), Probe(NULL, "null")]
    if scheme == "https":
        out.append(Probe(HTTP, f"http://{host}{port}"))
    out.append(Probe(SUFFIX, f"{scheme}://corscredsprobe{site}{port}"))
    out.append(Probe(PREFIX, f"{page}.{PROBE_HOST}"))
    if api_site is not None:
        out.append(Probe(SUBDOMAIN, f"{api_scheme}://cors-creds-probe.{api_site}"))
    return tuple(out)


def trusted(probe: Probe, answer: Answer | None) -> bool:
    return answer is not None and answer.acao == probe.origin and answer.acac == "true"


def conclude(page: str, url: str, probes: tuple[Probe, ...],
             answers: tuple[Answer | None, ...]) -> tuple[SecurityFinding, ...]:
    """The issues the answers prove. An origin trusted whatever it is (the unrelated one)
    is ``origin-reflected`` alone: null, http and the look-alikes follow from it."""
    by = dict(zip((p.label for p in probes), zip(probes, answers)))
    fields = _page_fields(url, page)

    def ok(label: str) -> bool:
        return label in by and trusted(*by[label])

    def ev(label: str) -> dict[str, str]:
        p, a = by[label]
        return {"forged origin": p.origin, "access-control-allow-origin": a.acao or "",
                "access-control-allow-credentials": a.acac or "", "status": str(a.status)}

    out = []
    if ok(UNRELATED):
        out.append(_finding(S.OriginReflected, {**fields, "forged": by[UNRELATED][0].origin},
                            ev(UNRELATED)))
    else:
        for label, issue in ((NULL, S.NullTrusted), (HTTP, S.InsecureOriginTrusted),
                             (SUFFIX, S.SuffixMatch), (PREFIX, S.PrefixMatch)):
            if label == HTTP and not url.startswith("https:"):
                continue  # an http API: the network can read it anyway
            if ok(label):
                out.append(_finding(issue, {**fields, "forged": by[label][0].origin}, ev(label)))
    for label, (p, a) in by.items():  # an echo of a forged origin without Vary: Origin
        if label != NULL and a is not None and a.acao == p.origin and \
                not _vary_origin(a.vary) and not _not_shared(a.cache_control):
            out.append(_finding(S.VaryMissing, {**fields, "forged": p.origin},
                                {"forged origin": p.origin, "vary": a.vary or "(none)"},
                                severity=MEDIUM if a.acac == "true" else LOW))
            break
    return tuple(out)


SEVERITY_ORDER = {HIGH: 0, MEDIUM: 1, LOW: 2}
