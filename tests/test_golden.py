"""Every output the addon writes for fixed captures is the one recorded (tests/golden.py):
each flow's metadata, comment and marker, the log lines and the JSON, Markdown and HTML
reports of ``mitmdump -nr CAPTURE -s addon -w OUT``. A difference is shown flow by flow."""

import difflib
import json

import pytest

import golden

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=golden.CAPTURES)
def produced(request, tmp_path_factory):
    name = request.param
    return name, golden.outputs(name, str(tmp_path_factory.mktemp(name)))


def _first_difference(want: str, got: str) -> str:
    diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "recorded", "now",
                                n=2, lineterm="")
    return "\n".join(list(diff)[:60])


@pytest.mark.parametrize("part", ["flows.json", "log.txt", "report.json", "report.md",
                                  "report.html"])
def test_output_is_the_recorded_one(produced, part):
    name, out = produced
    want = golden.recorded(name, part)
    if part.endswith(".json"):
        w, g = json.loads(want), json.loads(out[part])
        if w != g:
            rows = (w.get("flows", []) if isinstance(w, dict) else w,
                    g.get("flows", []) if isinstance(g, dict) else g)
            for a, b in zip(*rows):
                assert a == b, f"{name} {part}: first differing flow:\n" + _first_difference(
                    json.dumps(a, indent=1, sort_keys=True), json.dumps(b, indent=1, sort_keys=True))
            assert w == g, f"{name} {part}:\n" + _first_difference(want, out[part])
    else:
        assert out[part] == want, f"{name} {part}:\n" + _first_difference(want, out[part])


def test_the_captures_exercise_every_reason_and_role(produced):
    """The recorded outputs are worth keeping: the zoo covers every reason, role and
    correlation the core knows (a regenerated zoo that lost one would show here)."""
    name, out = produced
    flows = json.loads(out["flows.json"])
    metas = [f["cors_creds"] for f in flows if f["cors_creds"]]
    assert metas and any(f["cors_creds"] is None for f in flows)
    if name == "zoo":
        from corscore import REASONS

        assert {m["reason"] for m in metas if m["reason"]} == set(REASONS)
        assert {m["role"] for m in metas} == {"actual", "preflight", "redirect"}
        related = {k for m in metas for k in m["related"]}
        assert {"preflight", "hop", "chain", "actual_followed"} <= related
        assert any(m["confidence"] == "inferred" for m in metas)
        assert any(m["hidden_headers"] for m in metas) and any(m["warnings"] for m in metas)
