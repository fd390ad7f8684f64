"""Security findings in the core (corscore.security): what single exchanges prove, what
an endpoint's exchanges show, the probe's forged origins and the verdict on the answers,
over server configurations written as functions (Origin -> headers), as real CORS
middleware behaves (../shared/middleware-observed.md)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corscore import Analyzer, Exchange
from corscore.render import explain, render
from corscore.report import Report
from corscore.security import (
    NULL, PREFIX, SUBDOMAIN, SUFFIX, UNRELATED, Answer, conclude, passive, plan)

PAGE = "https://app.example.test"
API = "https://api.example.test/v1/me"


def issues(found):
    return sorted(str(f.issue) for f in found)


# -- single exchanges

@pytest.mark.parametrize("url,origin,acao,acac,want", [
    (API, PAGE, PAGE, "true", []),  # the allowlisted page
    (API, PAGE, "*", "true", ["wildcard-with-credentials"]),
    (API, PAGE, "*", None, []),  # public, no credentials: fine
    (API, "null", "null", "true", ["null-trusted"]),
    (API, PAGE, "null", "true", ["null-trusted"]),  # a fixed null allowed
    (API, "null", "null", None, []),  # without credentials nothing is at stake
    (API, "http://app.example.test", "http://app.example.test", "true",
     ["insecure-origin-trusted"]),
    ("http://api.example.test/v1", "http://app.example.test", "http://app.example.test", "true",
     []),  # an http API trusting an http page: nothing more to lose
    (API, "http://localhost:3000", "http://localhost:3000", "true", []),  # local development
])
def test_passive_single_exchange(url, origin, acao, acac, want):
    assert issues(passive(url, origin, acao, acac)) == want


def _ex(key, origin, acao, acac="true", vary="Origin", url=API, ts=1000.0, cc=None):
    resp = [("access-control-allow-origin", acao)]
    if acac:
        resp.append(("access-control-allow-credentials", acac))
    if vary:
        resp.append(("vary", vary))
    if cc:
        resp.append(("cache-control", cc))
    return Exchange.of(key=key, method="GET", url=url,
                       request_headers=[("origin", origin), ("sec-fetch-mode", "cors"),
                                        ("cookie", "sid=SECRET-S")],
                       status=200, response_headers=resp, timestamp=ts)


def _security(a, e):
    (u,) = a.response(e)
    return u.security


def test_several_sites_answered_with_their_own_origin_is_evidence_not_proof():
    a = Analyzer()
    found = [issues(_security(a, _ex(str(i), o, o)))
             for i, o in enumerate(("https://a.one.test", "https://b.two.test",
                                    "https://a.one.test", "https://c.three.test",
                                    "https://d.four.test"))]
    assert found == [[], [], [], ["origin-reflected"], []]  # said once, on the flow that shows it
    (f,) = _security(Analyzer(), _ex("x", "https://c.three.test", "https://c.three.test")) or [None]
    assert f is None


def test_one_allowlist_of_several_subdomains_is_not_reflection():
    a = Analyzer()
    for i, o in enumerate(("https://app.example.test", "https://admin.example.test",
                           "https://www.example.test")):
        assert issues(_security(a, _ex(str(i), o, o))) == []  # one site


def test_vary_missing_needs_the_answer_to_vary():
    a = Analyzer()
    assert issues(_security(a, _ex("1", PAGE, PAGE, vary=None))) == []  # could be a fixed ACAO
    got = _security(a, _ex("2", "https://admin.example.test", "https://admin.example.test",
                           vary=None))
    assert issues(got) == ["vary-missing"] and got[0].severity == "medium"
    assert got[0].confidence == "proof"
    b = Analyzer()
    _security(b, _ex("1", PAGE, PAGE, vary="Accept-Encoding, origin"))
    assert _security(b, _ex("2", "https://x.example.test", "https://x.example.test",
                            vary="Accept-Encoding, origin")) == ()
    c = Analyzer()  # no shared cache keeps it: Vary does not matter
    _security(c, _ex("1", PAGE, PAGE, vary=None, cc="private, max-age=60"))
    assert _security(c, _ex("2", "https://x.example.test", "https://x.example.test", vary=None,
                            cc="private, max-age=60")) == ()


# -- the probe

def test_plan_forges_every_origin_the_issue_names():
    got = {p.label: p.origin for p in plan(PAGE, API)}
    assert got == {
        UNRELATED: "https://cors-creds-probe.example",
        NULL: "null",
        "http": "http://app.example.test",
        SUFFIX: "https://corscredsprobeexample.test",
        PREFIX: "https://app.example.test.cors-creds-probe.example",
        SUBDOMAIN: "https://cors-creds-probe.example.test",
    }
    assert "http" not in {p.label for p in plan("http://127.0.0.1:8000", "http://127.0.0.2:9/x")}
    assert plan("null", API) == () and plan("", API) == ()
    ported = {p.label: p.origin for p in plan("http://127.0.0.1:8000", "http://127.0.0.2:9/x")}
    assert ported[PREFIX].startswith("http://127.0.0.1:8000")


ALLOWLIST = {PAGE}


def config(name):
    """A server configuration: Origin -> (ACAO, ACAC, Vary)."""
    def reflect(o):
        return o, "true", "Origin"
    return {
        "reflect-any": reflect,
        "reflect-any-no-vary": lambda o: (o, "true", None),
        "allowlist": lambda o: (o, "true", "Origin") if o in ALLOWLIST else (None, "true", "Origin"),
        "suffix-endswith": lambda o: reflect(o) if o.endswith("example.test") else (None, None, None),
        "suffix-regex": lambda o: reflect(o) if re.match(r"https://.*example\.test$", o)
        else (None, None, None),
        "prefix": lambda o: reflect(o) if o.startswith(PAGE) else (None, None, None),
        "null-allowed": lambda o: reflect(o) if o in (PAGE, "null") else (None, None, None),
        "http-allowed": lambda o: reflect(o) if o in (PAGE, "http://app.example.test")
        else (None, None, None),
        "subdomains": lambda o: reflect(o) if re.fullmatch(r"https://([a-z0-9-]+\.)*example\.test", o)
        else (None, None, None),
        "reflect-no-credentials": lambda o: (o, None, "Origin"),
    }[name]


@pytest.mark.parametrize("name,want", [
    ("reflect-any", ["origin-reflected"]),
    ("reflect-any-no-vary", ["origin-reflected", "vary-missing"]),
    ("allowlist", []),
    ("suffix-regex", ["suffix-match"]),
    # endswith("example.test") trusts http://app.example.test as well: both are true
    ("suffix-endswith", ["insecure-origin-trusted", "suffix-match"]),
    ("prefix", ["prefix-match"]),
    ("null-allowed", ["null-trusted"]),
    ("http-allowed", ["insecure-origin-trusted"]),
    ("subdomains", []),  # every subdomain of its own site: a choice, not a look-alike
    ("reflect-no-credentials", []),  # without credentials nothing of the user's is at stake
])
def test_conclude_each_configuration_gets_exactly_its_findings(name, want):
    server = config(name)
    probes = plan(PAGE, API)
    answers = tuple(Answer(200, *server(p.origin), None) for p in probes)
    found = conclude(PAGE, API, probes, answers)
    assert issues(found) == want
    for f in found:
        assert f.detail and f.fix and f.attack.count(". ") >= 1 and f.severity in (
            "high", "medium", "low")


def test_lost_probes_prove_nothing():
    probes = plan(PAGE, API)
    assert conclude(PAGE, API, probes, (None,) * len(probes)) == ()


@given(st.lists(st.sampled_from(["https://a.example.test", "https://evil.test", "null",
                                 "http://app.example.test", PAGE]), max_size=6))
def test_a_correct_allowlist_is_never_flagged(origins):
    """Whatever origins come, a server that trusts only the exact page origin (with Vary)
    gets no security finding, passive or probed."""
    a = Analyzer()
    for i, o in enumerate(origins):
        ok = o == PAGE
        e = _ex(str(i), o, PAGE if ok else None, "true") if ok else Exchange.of(
            key=str(i), method="GET", url=API, request_headers=[("origin", o)], status=200,
            response_headers=[("vary", "Origin")], timestamp=1000.0 + i)
        for u in a.response(e):
            assert u.security == ()
    server = config("allowlist")
    probes = plan(PAGE, API)
    assert conclude(PAGE, API, probes, tuple(Answer(200, *server(p.origin), None)
                                              for p in probes)) == ()


# -- the analyzer's probe bookkeeping, rendering, reports

def test_probe_runs_once_per_endpoint_and_concludes_on_the_last_answer():
    a = Analyzer()
    e = _ex("f1", PAGE, PAGE)
    a.response(e)
    probes = a.probe_plan(e, "HANDLE")
    assert [p.label for p in probes] == [UNRELATED, NULL, "http", SUFFIX, PREFIX, SUBDOMAIN]
    assert a.probe_plan(_ex("f2", PAGE, PAGE), "H2") == ()  # the endpoint is probed once
    assert a.probe_plan(_ex("f3", PAGE, PAGE), "H3", force=True)  # unless asked
    server = config("reflect-any")
    done = None
    for p in probes:
        assert done is None
        done = a.probe_answer("f1", p.label, Answer(200, *server(p.origin), None))
    handle, found = done
    assert handle == "HANDLE" and issues(found) == ["origin-reflected"]


def test_probe_not_planned_for_uncredentialed_or_opaque_requests():
    a = Analyzer()
    public = Exchange.of(key="p", method="GET", url=API,
                         request_headers=[("origin", PAGE), ("sec-fetch-mode", "cors")],
                         status=200, response_headers=[("access-control-allow-origin", "*")])
    assert a.probe_plan(public, None) == ()
    assert a.probe_plan(_ex("n", "null", "null"), None) == ()


def test_probe_runs_time_out_with_what_came():
    a = Analyzer()
    e = _ex("f1", PAGE, PAGE, ts=1000.0)
    probes = a.probe_plan(e, "H")
    a.probe_answer("f1", probes[0].label, Answer(200, probes[0].origin, "true", "Origin", None))
    assert a.probe_expire(1005.0) == []
    ((handle, found),) = a.probe_expire(1016.0)
    assert handle == "H" and issues(found) == ["origin-reflected"]


def test_rendered_security_comment_explanation_and_report():
    a = Analyzer()
    (u,) = a.response(_ex("f", "null", "null"))
    meta = render(u.finding, "!", u.cookies, u.security)
    (s,) = meta["security"]
    assert s["issue"] == "null-trusted" and s["severity"] == "high"
    assert s["evidence"]["origin"] == "null"
    assert "CORS security (high): null-trusted — fix: never allow null" in meta["comment"]
    text = explain(meta)
    assert "[HIGH] null-trusted" in text and "attack: Sandboxed iframes" in text
    assert "SECRET" not in repr(meta) + text
    rep = Report()
    rep.add("f", meta)
    (row,) = rep.to_dict()["security"]
    assert (row["endpoint"], row["issue"], row["count"]) == (API, "null-trusted", 1)
    assert rep.counts["security_high"] == 1
    assert "## Security" in rep.to_markdown() and "<h2>Security</h2>" in rep.to_html()
    assert any("[high]" in line and "null-trusted" in line for line in rep.summary_lines())


def test_low_severity_stays_out_of_the_comment():
    a = Analyzer()
    (u,) = a.response(_ex("f", PAGE, "*"))
    meta = render(u.finding, "!", u.cookies, u.security)
    assert [s["issue"] for s in meta["security"]] == ["wildcard-with-credentials"]
    assert "CORS security" not in meta["comment"]
    assert meta["comment"].startswith("CORS WildcardOriginNotAllowed")
