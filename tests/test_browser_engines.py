"""Each browser is its own judge: Firefox ESR (WebDriver BiDi) and WebKitGTK's MiniBrowser
(one fresh process and profile per case, under Xvfb) run the cases of browser_cases.py
through a real mitmdump with the addon. For every case the addon's verdict must be the
browser's, every flow must name the client's engine, and a hidden response must carry the
engine's own reason and console text exactly as that browser printed it:

- Firefox: the first "Cross-Origin Request Blocked: …" error of the case, its name found
  by matching it against the running Firefox's own message templates (security.properties
  in its omni.ja), MDN's spelling (the key without trailing digits);
- WebKit: the first ``CONSOLE SECURITY ERROR`` line MiniBrowser printed.

The cookie the page sends is set by the page itself (document.cookie, host 127.0.0.1: it
goes to the same-site API on the other port). Cases that start on the cross-site API set
none (in Chromium that cookie is SameSite=Lax and never sent cross-site either).

Run only this suite:  bash .ci/test tests/test_browser_engines.py
"""

from __future__ import annotations

import json
import os
import re
import time
import zipfile

import pytest
from browser_cases import CASES, Case
from engine_drivers import FIREFOX, MINIBROWSER, RESULT, XVFB, Firefox, Xvfb, webkit_run
from harness import Mitmdump, Route
from test_browser import (COOKIE_SECRET, FETCH_JS, XHR_JS, World, addon_view, case_entries,
                          serving)

pytestmark = pytest.mark.browser

SUMMARY: list[str] = []
COOKIE = f"sid={COOKIE_SECRET}; path=/"
FIREFOX_CASE_TIMEOUT = 15.0
WEBKIT_CASE_TIMEOUT = 20.0


def _args(world: World, case: Case) -> dict:
    return {"url": world.url(case, case.start), "method": case.method,
            "credentials": case.credentials, "headers": dict(case.headers), "body": case.body,
            "readHeader": case.read_header}


def _cookie(world: World, case: Case) -> str | None:
    host = world.url(case, case.start).split("/")[2]
    return COOKIE if case.cookie and host.startswith("127.0.0.1:") else None


@pytest.fixture(scope="module")
def world():
    with serving(CASES) as w:
        for case in CASES:  # WebKit: the page runs the case itself and logs the outcome
            script = (f"(() => {{ const c = {json.dumps(_cookie(w, case))}; "
                      "if (c) document.cookie = c; })();"
                      f"({FETCH_JS if case.client == 'fetch' else XHR_JS})"
                      f"({json.dumps(_args(w, case))})"
                      f".then(r => console.log({json.dumps(RESULT)} + JSON.stringify(r)));")
            w.page.routes[f"/run/{case.id}"] = Route(
                200, [("Content-Type", "text/html")],
                f"<!doctype html><title>{case.id}</title><script>{script}</script>".encode())
        yield w


def _run(world: World, tmp, engine: str, drive) -> dict:
    report = str(tmp / f"{engine}.json")
    md = Mitmdump("--set", f"cors_creds_report={report}",
                  "--set", "cors_creds_preflight_wait=1500")
    started = time.monotonic()
    try:
        results = drive(md)
    finally:
        rc = md.stop()
    assert os.path.exists(report), f"mitmdump rc {rc}, no report:\n{md.output[-3000:]}"
    with open(report) as fh:
        rep = json.load(fh)
    return {"browser": results, "report": rep, "rc": rc, "output": md.output,
            "seconds": time.monotonic() - started}


def outcome(result: dict | None, reason: str | None, errors: list[str],
            console: list[str]) -> dict:
    """What the browser did with a case: what JavaScript saw, and its first CORS error."""
    return {"readable": bool(result and result.get("ok")),
            "header_readable": bool(result) and result.get("header") is not None,
            "reason": reason, "message": errors[0] if errors else None, "console": console,
            "js": result}


# -- Firefox ------------------------------------------------------------------------------

def firefox_templates() -> list[tuple[str, re.Pattern]]:
    """The running Firefox's CORS message templates, as (key, pattern)."""
    omni = os.path.join(os.path.dirname(os.path.realpath(FIREFOX)), "omni.ja")
    with zipfile.ZipFile(omni) as z:
        text = z.read("chrome/en-US/locale/en-US/global/security/security.properties").decode()
    out = []
    for line in text.splitlines():
        key, sep, template = line.partition("=")
        if sep and key.startswith("CORS"):
            parts = re.split(r"%\d\$S", template)
            out.append((key, re.compile("^" + "(.*?)".join(map(re.escape, parts)) + "$")))
    return out


def firefox_reason(text: str, templates) -> str | None:
    for key, rx in templates:
        if rx.match(text):
            return key
    return None


@pytest.fixture(scope="module")
def firefox(world, tmp_path_factory):
    if FIREFOX is None:
        pytest.fail("firefox-esr is not installed: run bash .ci/setup")
    templates = firefox_templates()

    def drive(md):
        ff = Firefox(md.proxy_port)
        try:
            out = {"_user_agent": ff.user_agent}
            for case in CASES:
                result, texts = ff.run(world.page.origin + "/",
                                       FETCH_JS if case.client == "fetch" else XHR_JS,
                                       _args(world, case), FIREFOX_CASE_TIMEOUT,
                                       cookie=_cookie(world, case))
                errors = [t for t in texts if t.startswith("Cross-Origin Request Blocked")]
                key = firefox_reason(errors[0], templates) if errors else None
                out[case.id] = outcome(result, re.sub(r"\d+$", "", key) if key else None,
                                       errors, texts)
            return out
        finally:
            ff.close()

    return _run(world, tmp_path_factory.mktemp("firefox"), "firefox", drive)


# -- WebKit -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def webkit(world, tmp_path_factory):
    if MINIBROWSER is None or XVFB is None:
        pytest.fail("webkit2gtk-driver / xvfb are not installed: run bash .ci/setup")

    def drive(md):
        screen = Xvfb()
        try:
            out = {}
            for case in CASES:
                result, lines = webkit_run(screen.display, md.proxy_port,
                                           f"{world.page.origin}/run/{case.id}",
                                           WEBKIT_CASE_TIMEOUT)
                errors = [line.split("CONSOLE SECURITY ERROR ", 1)[1] for line in lines
                          if "CONSOLE SECURITY ERROR " in line]
                out[case.id] = outcome(result, None, errors, lines)
            return out
        finally:
            screen.close()

    return _run(world, tmp_path_factory.mktemp("webkit"), "webkit", drive)


# -- the comparison -------------------------------------------------------------------------

def engine_view(entries: list[dict]) -> dict:
    """The engine words of the flow that decides (the first hidden one; for a case no
    proxy can decide, the credentials hint's words)."""
    hidden = [e for e in entries if e["verdict"] == "hidden"]
    if hidden:
        return hidden[0]["browser"]
    hints = [e["if_credentialed"]["browser"] for e in entries if e.get("if_credentialed")]
    return hints[0] if hints else {"reason": None, "message": None}


def redacted(text: str | None) -> str | None:
    """A browser's text with a URL's password replaced by "…", as the addon writes every
    URL (WebKit prints a redirect's user:password; the addon never does)."""
    return re.sub(r"(://[^:/@\s]+):[^@/\s]+@", r"\1:…@", text) if text else text


def compare(run: dict, case: Case, engine: str) -> list[str]:
    b = run["browser"][case.id]
    entries = case_entries(run["report"]["flows"], case)
    if not entries:
        return [f"no CORS flow seen for {case.id}"]
    problems = []
    if b["js"] is None:
        return [f"{engine} gave no result (console: {b['console'][-5:]})"]
    if b["readable"] == (b["message"] is not None):
        problems.append(f"{engine}: readable={b['readable']} but console {b['message']!r}")
    addon = addon_view(entries, case)
    engines = {e["browser"]["engine"] for e in entries}
    if engines != {engine}:
        problems.append(f"flows name the engine(s) {sorted(engines)}, not {engine}")
    words = engine_view(entries)
    if case.decidable:
        if b["readable"] != addon["readable"]:
            problems.append(f"{engine} {'readable' if b['readable'] else 'hidden'} vs addon "
                            f"{addon['cors_error'] or 'exposed'}")
    elif not addon["readable"]:
        problems.append(f"undecidable case judged hidden ({addon['cors_error']})")
    if not b["readable"] and (words["reason"], words["message"]) != (b["reason"],
                                                                     redacted(b["message"])):
        problems.append(f"words: {engine} {b['reason']!r} {b['message']!r}\n"
                        f"         addon {words['reason']!r} {words['message']!r}")
    if case.read_header and b["readable"] and b["header_readable"] != addon["header_readable"]:
        problems.append(f"header {case.read_header}: {engine} readable={b['header_readable']}, "
                        f"addon readable={addon['header_readable']}")
    return problems


def _agreement(run: dict, engine: str) -> tuple[str, list[str]]:
    failures, verdicts, reasons, worded = [], 0, 0, 0
    for case in CASES:
        problems = compare(run, case, engine)
        if problems:
            failures.append(f"{case.id}: " + "; ".join(problems))
        b = run["browser"][case.id]
        verdict_bad = [p for p in problems if "vs addon" in p or "judged hidden" in p
                       or "no CORS flow" in p or "gave no result" in p]
        verdicts += not verdict_bad
        if not b["readable"]:
            worded += 1
            reasons += not [p for p in problems if p.startswith("words")]
    line = (f"{engine} agreement: {verdicts}/{len(CASES)} verdicts, {reasons}/{worded} "
            f"reasons and messages ({len(CASES)} cases in {run['seconds']:.0f}s)")
    return line, failures


@pytest.mark.parametrize("engine", ["firefox", "webkit"])
def test_engine_agrees(engine, request):
    run = request.getfixturevalue(engine)
    line, failures = _agreement(run, engine)
    SUMMARY.append(line)
    assert run["rc"] == 0 and "Traceback" not in run["output"]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("engine", ["firefox", "webkit"])
def test_engine_showed_its_reasons(engine, request):
    """The matrix makes each engine show many of its failures (≥ 40 cases each)."""
    run = request.getfixturevalue(engine)
    shown = {(b["reason"], b["message"].split(" Status code")[0][:60] if b["message"] else None)
             for k, b in run["browser"].items() if not k.startswith("_") and not b["readable"]}
    assert len(CASES) >= 40 and len(shown) >= 12, sorted(shown, key=str)


@pytest.mark.parametrize("engine", ["firefox", "webkit"])
def test_engine_no_secret(engine, request):
    run = request.getfixturevalue(engine)
    dump = json.dumps(run["report"]) + run["output"]
    assert COOKIE_SECRET not in dump and "SECRET-BEARER" not in dump
