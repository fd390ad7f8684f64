"""The one rendering of a finding: ``render`` makes the plain dict (JSON-like: lists,
dicts, str, numbers) that goes into ``flow.metadata["cors_creds"]``, and every other
output is made from that dict: the comment (in it), the log line (``log_line``), the
reports (``report.py``) and the full explanation of the contentview and ``cors.explain``
(``explain``), so that flows read back from a file explain themselves too."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from .checks import Failure
from .http import printable
from .model import HIDDEN, Finding
from .reasons import REASONS, CorsError, render as fill

MAX_VALUE = 2048  # longest header value kept in metadata
KEY = "cors_creds"  # the flow.metadata key


class Texts(NamedTuple):
    explanation: str
    fix: str
    fix_headers: tuple[str, ...]
    console: str


@lru_cache(maxsize=1024)
def texts(reason: CorsError, origin: str, value: str | None, evidence: str, method: str,
          fields: tuple[tuple[str, str], ...]) -> Texts:
    """A reason's templates filled with one flow's values (each made printable)."""
    values: dict[str, object] = {"origin": origin, "value": value, "evidence": evidence,
                                 "method": method, **dict(fields)}
    safe = {k: printable(v) if isinstance(v, str) else v for k, v in values.items()}
    r = REASONS[reason]
    headers = tuple(h for h in (fill(t, safe) for t in r.headers) if h.strip())
    return Texts(fill(r.explain, safe), fill(r.fix, safe), headers, fill(r.console, safe))


def _texts(f: Finding) -> Texts | None:
    if f.reason is None:
        return None
    return texts(f.reason, f.origin, f.failed_parameter,
                 ", ".join(f.credentials) or "credentials: include", f.method,
                 tuple(sorted(f.fields)))


def _hint(f: Finding, hint: Failure) -> dict[str, Any]:
    t = texts(hint.reason, f.origin, hint.parameter, "credentials: 'include'", f.method,
              tuple(sorted(hint.fields)))
    return {"reason": str(hint.reason), "failed_parameter": hint.parameter,
            "explanation": t.explanation, "fix": t.fix, "fix_headers": list(t.fix_headers)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def render(f: Finding, marker: str = "") -> dict[str, Any]:
    """The finding as written onto its flow; ``marker``: the flow's marker when hidden."""
    t = _texts(f)
    related = {k: _plain(v) for k, v in f.related}
    return {
        "verdict": f.verdict,
        "reason": str(f.reason) if f.reason is not None else None,
        "role": f.role,
        "origin": f.origin,
        "url": f.url,
        "method": f.method,
        "credentials": list(f.credentials),
        "credentials_mode": f.credentials_mode,
        "failed_parameter": (f.failed_parameter[:MAX_VALUE]
                             if f.failed_parameter is not None else None),
        "message": (f"Access to fetch at '{f.url}' from origin '{f.origin}' has been blocked "
                    f"by CORS policy: {t.console}") if t is not None else None,
        "explanation": t.explanation or None if t is not None else None,
        "fix": t.fix or None if t is not None else None,
        "fix_headers": list(t.fix_headers) if t is not None else [],
        "firefox": REASONS[f.reason].firefox or None if f.reason is not None else None,
        "confidence": f.confidence,
        "warnings": list(f.warnings),
        "hidden_headers": list(f.hidden_headers),
        "if_credentialed": _hint(f, f.if_credentialed) if f.if_credentialed else None,
        "related": related,
        "checks": [{"check": c.check, "ok": c.ok, "got": c.got, "want": c.want}
                   for c in f.checks],
        "comment": _comment(f, t, related),
        "marked": marker if f.verdict == HIDDEN else "",
    }


def _comment(f: Finding, t: Texts | None, related: dict[str, Any]) -> str:
    """One line for flow.comment: the reason and the fix for a hidden response, plus
    what JavaScript still cannot see (hidden headers) and browser-divergence warnings.
    Empty for a fine flow: the if_credentialed hint is not a finding."""
    parts = []
    if t is not None and f.verdict == HIDDEN:
        line = f"CORS {f.reason}: {t.explanation} — {t.fix}"
        if "chain" in related:
            line += f" (redirect {related['chain']})"
        if f.confidence != "certain":
            line += f" [{f.confidence}]"
        parts.append(line)
    if f.hidden_headers:
        shown = ", ".join(printable(h, 60) for h in f.hidden_headers[:20])
        more = f" (+{len(f.hidden_headers) - 20} more)" if len(f.hidden_headers) > 20 else ""
        parts.append(f"CORS: JS cannot read {shown}{more} — with credentials, "
                     "Access-Control-Expose-Headers: * is a literal name; list the headers by name")
    parts.extend("CORS warning: " + w for w in f.warnings)
    return " | ".join(parts)


def log_line(meta: dict[str, Any]) -> str:
    return (f"[cors] {printable(meta['method'])} {printable(meta['url'], 300)} "
            f"(origin {printable(meta['origin'])}): {meta['comment']}")


_ROLE = {"actual": "actual response", "preflight": "preflight (OPTIONS) response",
         "redirect": "redirect response"}


def _v(value: Any) -> str:
    return "(missing)" if value is None else repr(value)
def explain(meta: dict[str, Any] | None) -> str:
    if not meta:
        return "cors-creds: not a CORS flow (same-origin, navigation, no-cors, websocket or no Origin)."
    out: list[str] = []
    verdict = meta.get("verdict")
    if verdict == "hidden":
        out.append(f"CORS: HIDDEN from JavaScript — {meta.get('reason')} ({meta.get('confidence')})")
    else:
        out.append("CORS: readable by JavaScript")
    out.append(f"Request: {meta.get('method')} {meta.get('url')}")
    out.append(f"Origin: {meta.get('origin')}")
    out.append(f"Role: {_ROLE.get(meta.get('role'), meta.get('role'))}")
    creds = meta.get("credentials") or []
    mode = meta.get("credentials_mode")
    out.append(f"Credentials: {mode}" + (f" — {'; '.join(creds)}" if creds else
                                          " — nothing on the wire shows credentials"))
    checks = meta.get("checks") or []
    if checks:
        out += ["", "Checks, in Chromium's order:"]
        for c in checks:
            mark = "pass" if c.get("ok") else "FAIL"
            out.append(f"  [{mark}] {c.get('check')}: got {_v(c.get('got'))}, want {c.get('want')!r}")
    if verdict == "hidden":
        out += ["", "Why:", f"  {meta.get('explanation')}"]
        if meta.get("message"):
            out += ["Chromium's console says:", f"  {meta['message']}"]
        if meta.get("firefox"):
            out.append(f"Firefox reports it as {meta['firefox']}.")
        out += ["", "Fix: " + (meta.get("fix") or "")]
        where = "the preflight (OPTIONS) response" if meta.get("role") == "preflight" else "the response"
        if meta.get("fix_headers"):
            out.append(f"Ready to paste into {where}:")
            out += [f"  {h}" for h in meta["fix_headers"]]
    hint = meta.get("if_credentialed")
    if hint:
        out += ["", "If the page sends this with credentials (fetch credentials: 'include', "
                    "xhr.withCredentials = true), the browser will hide it:",
                f"  {hint.get('reason')}: {hint.get('explanation')}",
                f"  Fix: {hint.get('fix')}"]
        out += [f"    {h}" for h in hint.get("fix_headers") or []]
    if meta.get("hidden_headers"):
        out += ["", "Response headers JavaScript cannot read (with credentials, "
                    "Access-Control-Expose-Headers: * is a literal name, not a wildcard):",
                "  " + ", ".join(meta["hidden_headers"]),
                "  Fix: Access-Control-Expose-Headers: " + ", ".join(meta["hidden_headers"])]
    if meta.get("warnings"):
        out += ["", "Browser differences:"] + [f"  - {w}" for w in meta["warnings"]]
    related = meta.get("related") or {}
    if related:
        out += ["", "Related flows:"] + [f"  {k}: {v}" for k, v in related.items()]
    return "\n".join(out) + "\n"
