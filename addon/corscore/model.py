"""Small value types: what the core is told about a flow, and what it concludes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from .http import Headers, normalized_index, origin_of, printable
from .reasons import REASONS, render


MAX_VALUE = 2048  # longest header value kept in metadata


@dataclass(slots=True, eq=False)
class Exchange:
    """The facts of one HTTP request/response pair, free of any proxy library.

    ``key`` is the caller's handle for the flow (mitmproxy's flow id); ``status`` and
    ``response_headers`` are ``None`` when the flow has no response. Header lookups
    are normalized as Chromium does (lines joined with ", ", each trimmed), indexed
    once on first use."""

    key: str
    method: str
    url: str
    request_headers: Headers
    status: int | None = None
    response_headers: Headers | None = None
    timestamp: float = 0.0
    websocket: bool = False
    kind: str | None = field(default="?", repr=False)  # classify()'s memo
    _req_index: dict[str, str] | None = field(default=None, repr=False)
    _resp_index: dict[str, str] | None = field(default=None, repr=False)

    def req(self, name: str) -> str | None:
        return self.req_index.get(name)

    @property
    def req_index(self) -> dict[str, str]:
        """All request headers given, normalized."""
        if self._req_index is None:
            self._req_index = normalized_index(self.request_headers)
        return self._req_index

    def resp(self, name: str) -> str | None:
        if self.response_headers is None:
            return None
        return self.resp_index.get(name)

    @property
    def resp_index(self) -> dict[str, str]:
        """All response headers, normalized (empty without a response)."""
        if self._resp_index is None:
            self._resp_index = normalized_index(self.response_headers or ())
        return self._resp_index

    @property
    def target_origin(self) -> str | None:
        return origin_of(self.url)


class _Texts(NamedTuple):
    explanation: str
    fix: str
    fix_headers: tuple[str, ...]
    console: str


_NO_TEXTS = _Texts("", "", (), "")


@lru_cache(maxsize=1024)
def render_texts(reason: str, origin: str, value: str | None, evidence: str, method: str,
                 extra: tuple[tuple[str, object], ...]) -> _Texts:
    fields: dict[str, object] = {"origin": origin, "value": value, "evidence": evidence,
                                 "method": method, **dict(extra)}
    safe = {k: printable(v) if isinstance(v, str) else v for k, v in fields.items()}
    r = REASONS[reason]
    headers = tuple(h for h in (render(t, safe) for t in r.headers) if h.strip())
    return _Texts(render(r.explain, safe), render(r.fix, safe), headers, render(r.console, safe))


@dataclass(slots=True)
class Finding:
    """The verdict on one flow. Rendered into the comment, log line, metadata and
    reports; it holds no secret (cookie names only, redacted URLs).

    The sequences and ``fields`` are replaced, never changed in place (their defaults
    are shared: empty tuples, None); ``related`` is the one the analyzer adds to."""

    verdict: str  # "hidden" | "exposed"
    role: str  # "actual" | "preflight" | "redirect"
    origin: str
    url: str  # redacted
    method: str
    credentials: Sequence[str] = ()
    credentials_mode: str = "omit-or-same-origin"  # or "include"
    reason: str | None = None
    failed_parameter: str | None = None
    fields: Mapping[str, str] | None = None  # the reason's text parameters
    confidence: str = "certain"  # or "inferred"
    warnings: Sequence[str] = ()
    hidden_headers: Sequence[str] = ()
    if_credentialed: dict[str, Any] | None = None
    related: dict[str, Any] = field(default_factory=dict)
    checks: Sequence[dict[str, Any]] = ()
    # A remembered finding's metadata, rendered once (to_metadata(comment=True) of the
    # analyzer's private copy, whose related is empty): shared by every finding given
    # out from it. A finding changed later (a pending preflight, when settled) sets it
    # to None first (see Analyzer.remembered_response).
    rendered: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def hidden(self) -> bool:
        return self.verdict == "hidden"

    def _texts(self) -> "_Texts":
        """explanation, fix, fix headers and console text, rendered from the reason table.
        Rendered on demand (a finding may still change: a settled preflight) and memoized
        by content, so a finding repeated on every poll of an endpoint costs a lookup."""
        if self.reason is None:
            return _NO_TEXTS
        return render_texts(
            self.reason, self.origin, self.failed_parameter,
            ", ".join(self.credentials) or "credentials: include", self.method,
            tuple(sorted(self.fields.items())) if self.fields else (),
        )

    @property
    def explanation(self) -> str:
        return self._texts().explanation

    @property
    def fix(self) -> str:
        return self._texts().fix

    @property
    def fix_headers(self) -> list[str]:
        """The fix as header lines to paste into the (preflight) response."""
        return list(self._texts().fix_headers)

    @property
    def console_message(self) -> str:
        """What Chromium prints in the console for this failure."""
        return self._console(self._texts())

    def _console(self, texts: _Texts) -> str:
        if self.reason is None:
            return ""
        return (
            f"Access to fetch at '{self.url}' from origin '{self.origin}' has been blocked by "
            f"CORS policy: {texts.console}"
        )

    def comment(self, texts: _Texts | None = None) -> str:
        """One line for flow.comment: the reason and the fix for a hidden response, plus
        what JavaScript still cannot see (hidden headers) and browser-divergence
        warnings. Empty for a fine flow: the if_credentialed hint is not a finding.
        ``texts``: this finding's texts when the caller has them already."""
        if not self.noteworthy:
            return ""
        parts = []
        if self.verdict == "hidden":
            if texts is None:
                texts = self._texts()
            line = f"CORS {self.reason}: {texts.explanation} — {texts.fix}"
            if "chain" in self.related:
                line += f" (redirect {self.related['chain']})"
            if self.confidence != "certain":
                line += f" [{self.confidence}]"
            parts.append(line)
        if self.hidden_headers:
            parts.append(
                "CORS: JS cannot read " + ", ".join(printable(h, 60) for h in self.hidden_headers[:20])
                + (f" (+{len(self.hidden_headers) - 20} more)" if len(self.hidden_headers) > 20 else "")
                + " — with credentials, Access-Control-Expose-Headers: * is a literal name; "
                "list the headers by name"
            )
        parts.extend("CORS warning: " + w for w in self.warnings)
        return " | ".join(parts)

    @property
    def noteworthy(self) -> bool:
        """Whether the flow gets a comment at all."""
        return self.verdict == "hidden" or bool(self.hidden_headers) or bool(self.warnings)

    def log_line(self) -> str:
        return (f"[cors] {printable(self.method)} {printable(self.url, 300)} "
                f"(origin {printable(self.origin)}): {self.comment()}")

    def to_metadata(self, comment: bool = False) -> dict[str, Any]:
        """A plain JSON-like dict (no sets, no dataclasses) for flow.metadata; with
        ``comment``, the comment() line too (texts rendered once for both). A finding
        given out from a remembered one copies its rendered metadata instead."""
        base = self.rendered
        if base is not None:  # every list and dict of the full rendering below, made afresh
            hint = self.if_credentialed  # (test_the_addon_remembers_findings_exactly)
            meta = {
                **base,
                "credentials": list(self.credentials),
                "fix_headers": list(base["fix_headers"]),
                "warnings": list(self.warnings),
                "hidden_headers": list(self.hidden_headers),
                "if_credentialed": dict(hint) if hint else None,
                "related": dict(self.related),
                "checks": list(self.checks),
            }
            if not comment:
                del meta["comment"]
            return meta
        texts = self._texts() if self.reason is not None else _NO_TEXTS
        meta = {
            "verdict": self.verdict,
            "reason": self.reason,
            "role": self.role,
            "origin": self.origin,
            "url": self.url,
            "method": self.method,
            "credentials": list(self.credentials),
            "credentials_mode": self.credentials_mode,
            "failed_parameter": (self.failed_parameter[:MAX_VALUE]
                                 if self.failed_parameter is not None else None),
            "message": self._console(texts) if self.reason is not None else None,
            "explanation": texts.explanation or None,
            "fix": texts.fix or None,
            "fix_headers": list(texts.fix_headers),
            "firefox": REASONS[self.reason].firefox or None if self.reason else None,
            "confidence": self.confidence,
            "warnings": list(self.warnings),
            "hidden_headers": list(self.hidden_headers),
            "if_credentialed": dict(self.if_credentialed) if self.if_credentialed else None,
            "related": dict(self.related),
            "checks": list(self.checks),  # fresh dicts per finding, never mutated
        }
        if comment:
            meta["comment"] = self.comment(texts)
        return meta
