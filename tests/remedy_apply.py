"""Test-only mitmproxy addon for the browser suite's fix loop: applies remedy steps
(``flow.metadata["cors_creds"]["remedy"]["steps"]`` of an earlier run) to the responses
they name, on the wire, as the user would change the server. Load it before the addon,
so that the addon judges the changed responses.

    --set remedy_rules=rules.json   a JSON list of steps: {"method", "url", "status",
                                    "set": [header lines], "remove": [names]}
"""

import json
import logging

from mitmproxy import ctx, http

logger = logging.getLogger(__name__)


class RemedyApply:
    def __init__(self) -> None:
        self.rules: dict[tuple[str, str], list[dict]] = {}

    def load(self, loader) -> None:
        loader.add_option("remedy_rules", str, "", "JSON file of remedy steps to apply")

    def configure(self, updated) -> None:
        if "remedy_rules" in updated and ctx.options.remedy_rules:
            with open(ctx.options.remedy_rules) as fh:
                self.rules = {}
                for step in json.load(fh):
                    self.rules.setdefault((step["method"], step["url"]), []).append(step)

    def response(self, flow: http.HTTPFlow) -> None:
        steps = self.rules.get((flow.request.method, flow.request.url.split("#")[0]))
        if not steps or flow.response is None:
            return
        r = flow.response
        for step in steps:
            if step.get("status") is not None:
                r.status_code = step["status"]
                r.reason = ""
                r.content = b""
            for name in step.get("remove") or ():
                r.headers.pop(name, None)
            for line in step["set"]:
                name, _, value = line.partition(":")
                r.headers[name.strip()] = value.strip()  # replaces every line of the name
        logger.info(f"[remedy] applied {len(steps)} step(s) to {flow.request.method} "
                    f"{flow.request.url}")


addons = [RemedyApply()]
