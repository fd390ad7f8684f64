"""The pure CORS checks, table-driven: every reason, each header subtlety."""

import pytest

from corscore.checks import (
    hidden_response_headers,
    judge_access,
    judge_preflight,
    parse_preflight_request,
)
from corscore.http import (
    RESPONSE_HEADERS,
    Resp,
    cookie_names,
    normalize,
    origin_of,
    parse_token_list,
    parses_as_url,
    redact_url,
)

O = "http://127.0.0.1:8000"


def norm(lines, name):
    return normalize([(name, v) for v in lines], frozenset((name,))).get(name)


def check_access(acao, acac, origin, include):
    return judge_access(acao, acac, origin, include).failure


def H(*pairs):
    return normalize([(n.lower(), v) for n, v in pairs], RESPONSE_HEADERS)


def check_preflight(req, status, headers, include):
    """The preflight verdict over a normalized response-header index."""
    return judge_preflight(req, status, headers.get(Resp.LOCATION), headers.get(Resp.ACAO),
                           headers.get(Resp.ACAC), headers.get(Resp.ACAM), headers.get(Resp.ACAH),
                           headers.get(Resp.ACAPN), include).failure


# (ACAO lines, ACAC lines, include) -> (reason, failed parameter)
ACCESS = [
    ([O], ["true"], True, None, None),
    ([O], [], False, None, None),
    (["*"], [], False, None, None),
    (["*"], ["true"], False, None, None),
    (["*"], ["true"], True, "WildcardOriginNotAllowed", ""),
    (["*"], [], True, "WildcardOriginNotAllowed", ""),
    ([], ["true"], True, "MissingAllowOriginHeader", ""),
    ([], [], False, "MissingAllowOriginHeader", ""),
    ([""], ["true"], True, "InvalidAllowOriginValue", ""),
    (["foo"], [], False, "InvalidAllowOriginValue", "foo"),
    (["127.0.0.1"], [], False, "InvalidAllowOriginValue", "127.0.0.1"),
    ([O, O], ["true"], True, "MultipleAllowOriginValues", f"{O}, {O}"),
    ([f"{O}, http://x.test"], ["true"], True, "MultipleAllowOriginValues", f"{O}, http://x.test"),
    ([f"{O} http://x.test"], [], False, "MultipleAllowOriginValues", f"{O} http://x.test"),
    (["*, *"], [], False, "MultipleAllowOriginValues", "*, *"),
    (["", O], ["true"], True, "MultipleAllowOriginValues", f", {O}"),
    ([O + "/"], ["true"], True, "AllowOriginMismatch", O + "/"),
    (["http://127.0.0.1:8001"], ["true"], True, "AllowOriginMismatch", "http://127.0.0.1:8001"),
    (["HTTP://127.0.0.1:8000"], ["true"], True, "AllowOriginMismatch", "HTTP://127.0.0.1:8000"),
    (["https://127.0.0.1:8000"], [], False, "AllowOriginMismatch", "https://127.0.0.1:8000"),
    (["null"], ["true"], True, "AllowOriginMismatch", "null"),
    ([f"  {O}\t"], [" true "], True, None, None),  # HTTP whitespace is trimmed
    ([O], [], True, "InvalidAllowCredentials", ""),
    ([O], ["false"], True, "InvalidAllowCredentials", "false"),
    ([O], ["TRUE"], True, "InvalidAllowCredentials", "TRUE"),
    ([O], ["True"], True, "InvalidAllowCredentials", "True"),
    ([O], ["1"], True, "InvalidAllowCredentials", "1"),
    ([O], ['"true"'], True, "InvalidAllowCredentials", '"true"'),
    ([O], [""], True, "InvalidAllowCredentials", ""),
    ([O], ["true", "true"], True, "InvalidAllowCredentials", "true, true"),
    ([O], ["false"], False, None, None),  # ACAC is ignored without credentials
]


@pytest.mark.parametrize("acao,acac,include,reason,param", ACCESS)
def test_check_access(acao, acac, include, reason, param):
    f = check_access(norm(acao, "access-control-allow-origin"),
                     norm(acac, "access-control-allow-credentials"), O, include)
    assert (f.reason if f else None, f.parameter if f else None) == (reason, param)


def test_null_origin_matches_null_acao_after_tainting():
    assert check_access("null", "true", "null", True) is None
    assert check_access(O, "true", "null", True).reason == "AllowOriginMismatch"


def test_non_utf8_header_bytes_compare_byte_exactly():
    """The flow reader decodes values as latin-1: every byte survives, and compares."""
    h = H(("Access-Control-Allow-Credentials", b"tru\xe9".decode("latin-1")),
          ("Access-Control-Allow-Origin", O))
    f = check_access(h[Resp.ACAO], h[Resp.ACAC], O, True)
    assert f.reason == "InvalidAllowCredentials"
    assert f.parameter == "tru\xe9"


def test_checks_record_the_values_compared():
    v = judge_access(O + "/", None, O, True)
    assert [(c.check, c.ok, c.got, c.want) for c in v.checks] == [
        ("Access-Control-Allow-Origin", False, O + "/", O)]
    v = judge_access(O, "TRUE", O, True)
    assert [(c.check, c.ok, c.got) for c in v.checks] == [
        ("Access-Control-Allow-Origin", True, O), ("Access-Control-Allow-Credentials", False, "TRUE")]


@pytest.mark.parametrize("url,origin", [
    ("http://127.0.0.1:8000/x?y#z", "http://127.0.0.1:8000"),
    ("http://EXAMPLE.com:80/", "http://example.com"),
    ("https://example.com:443/a", "https://example.com"),
    ("https://example.com:8443/a", "https://example.com:8443"),
    ("http://user:pw@example.com/", "http://example.com"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
    ("HTTPS://Example.COM:0443?q", "https://example.com"),
    ("http://a.test:080#f", "http://a.test"),
    ("http://a.test:65535", "http://a.test:65535"),
    ("http://a.test:65536/", None),
    ("ftp://example.com/", None),
    ("http://bad:port:1/", None),
])
def test_origin_of(url, origin):
    assert origin_of(url) == origin


@pytest.mark.parametrize("value,ok", [
    ("http://a.test", True), ("https://a.test/path", True), ("foo:bar", True),
    ("", False), ("foo", False), ("127.0.0.1", False), ("http://", False),
    ("http:", False), ("1http://a", False), ("http://a b", False),
])
def test_parses_as_url(value, ok):
    assert parses_as_url(value) is ok


@pytest.mark.parametrize("value,items", [
    (None, []), ("PUT, DELETE", ["PUT", "DELETE"]), ("PUT,,DELETE, ", ["PUT", "DELETE"]),
    ("PUT DELETE", None), ("GET;", None), ("*", ["*"]),
])
def test_parse_token_list(value, items):
    assert parse_token_list(value) == items


def test_cookie_names_never_values():
    assert cookie_names(["sid=abc; theme=dark", "sid=again; x"]) == ("sid", "theme", "x")


@pytest.mark.parametrize("url,out", [
    ("http://a.test/p?token=abc&x=1", "http://a.test/p?token=…&x=…"),
    ("http://u:pw@a.test/", "http://u:…@a.test/"),
    ("http://a.test/p", "http://a.test/p"),
])
def test_redact_url(url, out):
    assert redact_url(url) == out


def pf(method="PUT", headers=None, origin=O):
    return parse_preflight_request(origin, method, headers, None)


GOODPF = (("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "true"))

# (request method, ACRH, status, response headers, include) -> (reason, parameter)
PREFLIGHT = [
    ("PUT", None, 204, GOODPF + (("Access-Control-Allow-Methods", "PUT"),), True, None, None),
    ("PUT", None, 403, GOODPF + (("Access-Control-Allow-Methods", "PUT"),), True,
     "PreflightInvalidStatus", ""),
    ("PUT", None, 302, GOODPF + (("Location", "/elsewhere"),), True,
     "PreflightDisallowedRedirect", ""),
    ("PUT", None, 301, GOODPF + (("Access-Control-Allow-Methods", "PUT"),), True,
     "PreflightInvalidStatus", ""),  # a 3xx without Location is just a bad status
    ("PUT", None, 404, (("Access-Control-Allow-Methods", "PUT"),), True,
     "PreflightMissingAllowOriginHeader", ""),  # the CORS check is reported before the status
    ("PUT", None, 204, (("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT")),
     True, "PreflightWildcardOriginNotAllowed", ""),
    ("PUT", None, 204, (("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT")),
     False, None, None),
    ("PUT", None, 204, (("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Origin", O)),
     False, "PreflightMultipleAllowOriginValues", f"{O}, {O}"),
    ("PUT", None, 204, (("Access-Control-Allow-Origin", "nope"),), False,
     "PreflightInvalidAllowOriginValue", "nope"),
    ("PUT", None, 204, (("Access-Control-Allow-Origin", O + "/"),), False,
     "PreflightAllowOriginMismatch", O + "/"),
    ("PUT", None, 204, (("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Methods", "PUT")),
     True, "PreflightInvalidAllowCredentials", ""),
    ("PUT", None, 204, GOODPF, True, "MethodDisallowedByPreflightResponse", "PUT"),
    ("PUT", None, 204, GOODPF + (("Access-Control-Allow-Methods", "*"),), True,
     "MethodDisallowedByPreflightResponse", "PUT"),
    ("PUT", None, 204, (("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "*")),
     False, None, None),
    ("PUT", None, 204, GOODPF + (("Access-Control-Allow-Methods", "put"),), True,
     "MethodDisallowedByPreflightResponse", "PUT"),
    ("patch", None, 204, GOODPF + (("Access-Control-Allow-Methods", "PATCH"),), True,
     "MethodDisallowedByPreflightResponse", "patch"),
    ("PUT", None, 204, GOODPF + (("Access-Control-Allow-Methods", "PUT DELETE"),), True,
     "InvalidAllowMethodsPreflightResponse", ""),
    ("PUT", "x-a", 204, GOODPF + (("Access-Control-Allow-Methods", "PUT"),
                                  ("Access-Control-Allow-Headers", "x-a x-b")), True,
     "InvalidAllowHeadersPreflightResponse", ""),
    ("PUT", "content-type,x-token", 204,
     GOODPF + (("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "Content-Type")),
     True, "HeaderDisallowedByPreflightResponse", "x-token"),
    ("PUT", "x-token", 204,
     GOODPF + (("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "X-TOKEN")),
     True, None, None),
    ("PUT", "x-token", 204,
     GOODPF + (("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "*")),
     True, "HeaderDisallowedByPreflightResponse", "x-token"),
    ("PUT", "x-token", 204,
     (("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Methods", "PUT"),
      ("Access-Control-Allow-Headers", "*")), False, None, None),
    ("POST", "content-type", 204, GOODPF, True, "HeaderDisallowedByPreflightResponse",
     "content-type"),  # POST is safelisted, the JSON content-type is not
]


@pytest.mark.parametrize("method,acrh,status,resp,include,reason,param", PREFLIGHT)
def test_check_preflight(method, acrh, status, resp, include, reason, param):
    f = check_preflight(pf(method, acrh), status, H(*resp), include)
    assert (f.reason if f else None, f.parameter if f else None) == (reason, param)


def test_acah_star_covers_authorization_in_chromium_with_a_warning():
    v = judge_preflight(pf("GET", "authorization"), 204, None, O, None, None, "*", None, False)
    assert v.failure is None
    assert any("Fetch standard" in w for w in v.warnings)
    f = check_preflight(pf("GET", "authorization"), 204,
                        H(*GOODPF, ("Access-Control-Allow-Headers", "*")), True)
    assert (f.reason, f.parameter) == ("HeaderDisallowedByPreflightResponse", "authorization")


def test_private_network_preflight_is_a_warning():
    req = parse_preflight_request(O, "GET", None, "true")
    v = judge_preflight(req, 204, None, O, None, None, None, None, False)
    assert v.failure is None
    assert any("Private Network" in w for w in v.warnings)
    v = judge_preflight(req, 204, None, O, None, None, None, "true", False)
    assert v.failure is None and not v.warnings


@pytest.mark.parametrize("aceh,include,hidden", [
    ("*", True, ["x-total", "date", "set-cookie", "access-control-allow-origin"]),
    ("*", False, ["set-cookie"]),  # * exposes all but Set-Cookie, without credentials
    ("X-Total", True, ["date", "set-cookie", "access-control-allow-origin"]),
    ("*, X-Total", True, ["date", "set-cookie", "access-control-allow-origin"]),
    ("X-Total, x y", False,  # a malformed list is dropped whole
     ["x-total", "date", "set-cookie", "access-control-allow-origin"]),
    (None, True, ["x-total", "date", "set-cookie", "access-control-allow-origin"]),
    ("Set-Cookie, X-Total", False, ["date", "set-cookie", "access-control-allow-origin"]),
])
def test_hidden_response_headers(aceh, include, hidden):
    resp = [("Content-Type", "text/plain"), ("X-Total", "3"), ("Date", "now"),
            ("Set-Cookie", "a=b"), ("Access-Control-Allow-Origin", O)]
    names = tuple(n.lower() for n, _ in resp)
    assert hidden_response_headers(aceh, names, include) == tuple(hidden)
