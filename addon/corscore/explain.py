"""The full explanation of one flow, rendered from its finding's metadata dict (so it
works for flows read back from a file too). Used by the contentview and by the
``cors.explain`` command."""

from __future__ import annotations

from typing import Any

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
