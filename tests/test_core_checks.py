"""The pure CORS checks, table-driven: every reason, each header subtlety."""

import pytest

from corscore import check_access, get_normalized, make_headers, origin_of
from corscore.checks import check_preflight, hidden_response_headers, parse_preflight_request
from corscore.http import (
    normalized_index,
    cookie_names,
    parse_token_list,
    parses_as_url,
    redact_url,
)

O = "http://127.0.0.1:8000"


def norm(lines, name):
    return get_normalized(make_headers([(name, v) for v in lines]), name)


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
    h = make_headers([(b"Access-Control-Allow-Credentials", b"tru\xe9"),
                      (b"Access-Control-Allow-Origin", O.encode())])
    acac = get_normalized(h, "access-control-allow-credentials")
    f = check_access(get_normalized(h, "access-control-allow-origin"), acac, O, True)
    assert f.reason == "InvalidAllowCredentials"
    assert f.parameter == "tru\xe9"


def test_header_names_are_case_insensitive_http2_style():
    h = make_headers([("ACCESS-CONTROL-ALLOW-ORIGIN", O), ("access-control-allow-credentials", "true")])
    assert check_access(get_normalized(h, "access-control-allow-origin"),
                        get_normalized(h, "access-control-allow-credentials"), O, True) is None


@pytest.mark.parametrize("url,origin", [
    ("http://127.0.0.1:8000/x?y#z", "http://127.0.0.1:8000"),
    ("http://EXAMPLE.com:80/", "http://example.com"),
    ("https://example.com:443/a", "https://example.com"),
    ("https://example.com:8443/a", "https://example.com:8443"),
    ("http://user:pw@example.com/", "http://example.com"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
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
    assert cookie_names(["sid=abc; theme=dark", "sid=again; x"]) == ["sid", "theme", "x"]


@pytest.mark.parametrize("url,out", [
    ("http://a.test/p?token=abc&x=1", "http://a.test/p?token=…&x=…"),
    ("http://u:pw@a.test/", "http://u:…@a.test/"),
    ("http://a.test/p", "http://a.test/p"),
])
def test_redact_url(url, out):
    assert redact_url(url) == out


def pf(method="PUT", headers=None, origin=O):
    return parse_preflight_request(origin, method, headers, None)


def H(*pairs):
    return normalized_index(make_headers(pairs))


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
    warnings = []
    resp = H(("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Headers", "*"))
    assert check_preflight(pf("GET", "authorization"), 204, resp, False, None, warnings) is None
    assert any("Fetch standard" in w for w in warnings)
    f = check_preflight(pf("GET", "authorization"), 204,
                        H(*GOODPF, ("Access-Control-Allow-Headers", "*")), True)
    assert (f.reason, f.parameter) == ("HeaderDisallowedByPreflightResponse", "authorization")


def test_private_network_preflight_is_a_warning():
    warnings = []
    req = parse_preflight_request(O, "GET", None, "true")
    assert check_preflight(req, 204, H(("Access-Control-Allow-Origin", O)), False, None,
                           warnings) is None
    assert any("Private Network" in w for w in warnings)


@pytest.mark.parametrize("aceh,include,hidden", [
    ("*", True, ["x-total", "date"]),
    ("*", False, []),
    ("X-Total", True, []),
    ("*, X-Total", True, ["date"]),
    ("X-Total, x y", False, ["x-total", "date"]),  # a malformed list is dropped whole
    (None, True, []),
])
def test_hidden_response_headers(aceh, include, hidden):
    resp = [("Content-Type", "text/plain"), ("X-Total", "3"), ("Date", "now"),
            ("Set-Cookie", "a=b"), ("Access-Control-Allow-Origin", O)]
    if aceh is not None:
        resp.append(("Access-Control-Expose-Headers", aceh))
    assert hidden_response_headers(normalized_index(make_headers(resp)), include) == hidden
