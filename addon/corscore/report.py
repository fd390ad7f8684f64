"""Collects the final findings of a run into a bounded report and renders it (JSON,
Markdown, HTML). It is fed the rendered metadata (``render.render``), never a Finding.

Memory stays flat: per-flow entries are capped (the newest are kept) and the summary
groups are capped; counts stay exact.
"""

from __future__ import annotations

import html
import json
from collections import OrderedDict
from typing import Any

from .http import without_query
from .render import fix_line, remedy_text

SCHEMA = "cors-creds-report/1"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |"


def _html_row(cells) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in cells) + "</tr>\n"


def _engine(entry: dict[str, Any]) -> str:
    """The client's engine of an entry (metadata written before engines: unknown)."""
    return (entry.get("browser") or {}).get("engine") or "unknown"


def _engines(counts: dict[str, int]) -> str:
    return ", ".join(f"{e} {n}" for e, n in sorted(counts.items()) if n > 0)


class Report:
    """Counts and summary groups of every CORS flow's final finding, exact; per-flow
    entries for the newest ``max_flows`` (0: none listed, the counts and summary still
    exact)."""

    def __init__(self, max_flows: int = 10_000, max_groups: int = 2_000) -> None:
        self.max_flows = max_flows
        self.max_groups = max_groups
        self.flows: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        self.groups: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self.counts = {"cors_flows": 0, "hidden": 0, "hidden_credentialed": 0,
                       "dropped_flows": 0, "cookies_refused": 0, "cookies_withheld": 0,
                       "security_high": 0, "security_medium": 0, "security_low": 0}
        # (endpoint, issue, severity, confidence) -> [count, an example's detail, fix]
        self.security: OrderedDict[tuple[str, str, str, str], list] = OrderedDict()
        # (API, cookie, "refused" | "not sent", reasons, condition) -> count
        self.cookies: OrderedDict[tuple[str, str, str, str, str], int] = OrderedDict()
        # per client engine: CORS flows and hidden ones (a handful of keys: Engine)
        self.engines: dict[str, dict[str, int]] = {}

    def add(self, key: str, meta: dict[str, Any], timestamp: float = 0.0) -> None:
        """Record a flow's final finding (its rendered metadata, kept by reference); a
        later one for the same flow (re-analysed) replaces it."""
        old = self.flows.pop(key, None)
        if old is not None:
            self._count(old[0], -1)
        elif meta["verdict"] is not None:
            self.counts["cors_flows"] += 1
            self._engine_counts(_engine(meta))["cors_flows"] += 1
        self._count(meta, +1)
        if self.max_flows <= 0:
            self.counts["dropped_flows"] += 1
            return
        self.flows[key] = (meta, timestamp)
        while len(self.flows) > self.max_flows:
            self.flows.popitem(last=False)
            self.counts["dropped_flows"] += 1

    def entries(self) -> list[dict[str, Any]]:
        """Per-flow entries, oldest first: the finding's metadata plus flow id and time."""
        out = []
        rows = sorted(self.flows.items(), key=lambda kv: kv[1][1])
        for key, (meta, ts) in rows:
            entry = {k: v for k, v in meta.items() if k not in ("comment", "marked")}
            entry["flow"] = key
            entry["timestamp"] = ts
            out.append(entry)
        return out

    def _count(self, entry: dict[str, Any], sign: int) -> None:
        if entry.get("cookies"):
            self._count_cookies(entry, sign)
        for sec in entry.get("security") or ():
            self._count_security(entry, sec, sign)
        if entry["verdict"] != "hidden":
            return
        self.counts["hidden"] += sign
        engine = _engine(entry)
        self._engine_counts(engine)["hidden"] += sign
        if entry["credentials_mode"] == "include":
            self.counts["hidden_credentialed"] += sign
        gkey = (entry["origin"], without_query(entry["url"]), entry["reason"])
        group = self.groups.get(gkey)
        if group is None:
            if sign < 0:
                return
            remedy = entry.get("remedy")
            group = {"page_origin": gkey[0], "api": gkey[1], "reason": gkey[2], "count": 0,
                     "engines": {}, "example_url": entry["url"], "fix": entry["fix"],
                     "remedy": fix_line(remedy, entry["url"]) if remedy else None}
            self.groups[gkey] = group
            while len(self.groups) > self.max_groups:
                self.groups.popitem(last=False)
        group["count"] += sign
        group["engines"][engine] = group["engines"].get(engine, 0) + sign
        if group["count"] <= 0:
            del self.groups[gkey]

    def _engine_counts(self, engine: str) -> dict[str, int]:
        counts = self.engines.get(engine)
        if counts is None:
            counts = self.engines[engine] = {"cors_flows": 0, "hidden": 0}
        return counts

    def _count_cookies(self, entry: dict[str, Any], sign: int) -> None:
        api = without_query(entry["url"])
        for what, key, count in (("refused", "rejected", "cookies_refused"),
                                 ("not sent", "withheld", "cookies_withheld")):
            for n in entry["cookies"][key]:
                if not n.get("if"):
                    self.counts[count] += sign
                ck = (api, n["name"], what, ", ".join(n["reasons"]), n.get("if") or "")
                left = self.cookies.pop(ck, 0) + sign
                if left > 0:
                    self.cookies[ck] = left
                while len(self.cookies) > self.max_groups:
                    self.cookies.popitem(last=False)

    def _count_security(self, entry: dict[str, Any], sec: dict[str, Any], sign: int) -> None:
        self.counts[f"security_{sec['severity']}"] += sign
        key = (without_query(entry["url"]), sec["issue"], sec["severity"], sec["confidence"])
        row = self.security.pop(key, None) or [0, sec["detail"], sec["fix"]]
        row[0] += sign
        if row[0] > 0:
            self.security[key] = row
        while len(self.security) > self.max_groups:
            self.security.popitem(last=False)

    def security_rows(self) -> list[dict[str, Any]]:
        """The security table: per endpoint and issue, the worst first."""
        order = {"high": 0, "medium": 1, "low": 2}
        return [{"endpoint": k[0], "issue": k[1], "severity": k[2], "confidence": k[3],
                 "count": v[0], "detail": v[1], "fix": v[2]}
                for k, v in sorted(self.security.items(),
                                   key=lambda kv: (order[kv[0][2]], kv[0][0], kv[0][1]))]

    def cookie_rows(self) -> list[dict[str, Any]]:
        """The cookie table: per API and cookie, what the browser did and why."""
        return [{"api": k[0], "cookie": k[1], "browser": k[2], "reasons": k[3],
                 "only_if": k[4] or None, "count": n}
                for k, n in sorted(self.cookies.items())]

    def summary(self) -> list[dict[str, Any]]:
        return sorted(self.groups.values(),
                      key=lambda g: (g["page_origin"], g["api"], -g["count"], g["reason"]))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "counts": dict(self.counts),
                "engines": {k: dict(v) for k, v in sorted(self.engines.items())},
                "summary": self.summary(), "security": self.security_rows(),
                "cookies": self.cookie_rows(), "flows": self.entries()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        c = self.counts
        lines = ["# cors-creds report", "",
                 f"{c['cors_flows']} CORS flows checked, {c['hidden']} hidden from JavaScript "
                 f"({c['hidden_credentialed']} credentialed).", ""]
        if self.engines:
            lines += ["| client engine | CORS flows | hidden |", "|---|---|---|"]
            lines += [_md_row([e, str(v["cors_flows"]), str(v["hidden"])])
                      for e, v in sorted(self.engines.items())]
            lines.append("")
        if self.groups:
            lines += ["| page origin | API | reason | count | engines | example | remedy |",
                      "|---|---|---|---|---|---|---|"]
            for g in self.summary():
                cells = [g["page_origin"], g["api"], f"`{g['reason']}`", str(g["count"]),
                         _engines(g["engines"]), g["example_url"],
                         g.get("remedy") or g["fix"] or ""]
                lines.append(_md_row(cells))
        if self.security:
            lines += ["", "## Security", "",
                      f"{c['security_high']} high, {c['security_medium']} medium, "
                      f"{c['security_low']} low.", "",
                      "| severity | endpoint | issue | count | detail | fix |",
                      "|---|---|---|---|---|---|"]
            for r in self.security_rows():
                proof = "" if r["confidence"] == "proof" else " (evidence, not proof)"
                lines.append(_md_row([r["severity"], r["endpoint"], f"`{r['issue']}`",
                                      str(r["count"]), r["detail"] + proof, r["fix"]]))
        if self.cookies:
            lines += ["", "## Cookies", "",
                      f"{c['cookies_refused']} Set-Cookie lines refused, {c['cookies_withheld']} "
                      "cookies not sent (certain ones; rules: each client engine's).", "",
                      "| API | cookie | browser | reasons | only if | count |",
                      "|---|---|---|---|---|---|"]
            for r in self.cookie_rows():
                cells = [r["api"], r["cookie"], r["browser"], r["reasons"],
                         r["only_if"] or "", str(r["count"])]
                lines.append(_md_row(cells))
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A self-contained page (no external resources)."""
        e = html.escape
        c = self.counts
        rows = "".join(
            _html_row((g["page_origin"], g["api"], g["reason"], g["count"],
                       _engines(g["engines"]), g["example_url"],
                       g.get("remedy") or g["fix"] or ""))
            for g in self.summary()
        )
        security_rows = "".join(
            _html_row(r[k] for k in ("severity", "endpoint", "issue", "count", "detail", "fix"))
            for r in self.security_rows())
        engine_rows = "".join(_html_row((e, v["cors_flows"], v["hidden"]))
                              for e, v in sorted(self.engines.items()))
        cookie_rows = "".join(
            _html_row(r[k] or "" for k in ("api", "cookie", "browser", "reasons", "only_if",
                                           "count"))
            for r in self.cookie_rows()
        )
        flows = "".join(
            f"<tr class='{e(f['verdict'])}'><td>{e(f['method'])}</td><td>{e(f['url'])}</td>"
            f"<td>{e(f['origin'])}</td><td>{e(f['verdict'])}</td><td>{e(f['reason'] or '')}</td>"
            f"<td>{e(', '.join(f['credentials']))}</td>"
            f"<td><pre>{e(remedy_text(f['remedy']) if f.get('remedy') else f['fix'] or '')}</pre>"
            "</td></tr>\n"
            for f in self.entries() if f["verdict"] == "hidden"
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cors-creds report</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
pre {{ margin: 0; white-space: pre-wrap; }}
th {{ background: #f4f4f4; }} tr.hidden td:nth-child(4) {{ color: #b00; font-weight: bold; }}
</style></head><body>
<h1>cors-creds report</h1>
<p>{c['cors_flows']} CORS flows checked, <strong>{c['hidden']} hidden from JavaScript</strong>
({c['hidden_credentialed']} credentialed).</p>
<h2>Client engines</h2>
<table><tr><th>engine</th><th>CORS flows</th><th>hidden</th></tr>
{engine_rows}</table>
<h2>Summary</h2>
<table><tr><th>page origin</th><th>API</th><th>reason</th><th>count</th><th>engines</th><th>example</th><th>remedy</th></tr>
{rows}</table>
<h2>Security</h2>
<p>{c['security_high']} high, {c['security_medium']} medium, {c['security_low']} low.</p>
<table><tr><th>severity</th><th>endpoint</th><th>issue</th><th>count</th><th>detail</th><th>fix</th></tr>
{security_rows}</table>
<h2>Cookies</h2>
<p>{c['cookies_refused']} Set-Cookie lines refused, {c['cookies_withheld']} cookies not sent
(rules: each client engine's).</p>
<table><tr><th>API</th><th>cookie</th><th>browser</th><th>reasons</th><th>only if</th><th>count</th></tr>
{cookie_rows}</table>
<h2>Hidden responses</h2>
<table><tr><th>method</th><th>URL</th><th>origin</th><th>verdict</th><th>reason</th><th>credentials</th><th>remedy</th></tr>
{flows}</table>
</body></html>
"""

    def summary_lines(self) -> list[str]:
        """The shutdown summary, grouped by page origin, then API and reason."""
        out: list[str] = []
        if self.engines:
            out.append("clients: " + "; ".join(
                f"{e} {v['cors_flows']} CORS flows, {v['hidden']} hidden"
                for e, v in sorted(self.engines.items())))
        page = None
        for g in self.summary():
            if g["page_origin"] != page:
                page = g["page_origin"]
                out.append(f"page {page}:")
            out.append(f"  {g['api']}  {g['reason']} ×{g['count']} ({_engines(g['engines'])})"
                       f"  e.g. {g['example_url']}")
        sec = self.security_rows()
        if sec:
            out.append(f"security: {self.counts['security_high']} high, "
                       f"{self.counts['security_medium']} medium, "
                       f"{self.counts['security_low']} low:")
            out += [f"  [{r['severity']}] {r['endpoint']}  {r['issue']} ×{r['count']}"
                    + ("" if r["confidence"] == "proof" else " (evidence, not proof)")
                    for r in sec]
        rows = [r for r in self.cookie_rows() if not r["only_if"]]
        if rows:
            out.append(f"cookies: {self.counts['cookies_refused']} refused, "
                       f"{self.counts['cookies_withheld']} not sent:")
            out += [f"  {r['api']}  {r['cookie']} {r['browser']}: {r['reasons']} ×{r['count']}"
                    for r in rows]
        return out
