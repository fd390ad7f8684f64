"""A control for the benchmark's contrast figure (``--only contrast``): the same hooks as
cors_creds, and on flows with an Origin header the response hook only spins a loop of
CORS_BUSY_LOOPS iterations: plain CPU work of a chosen size, in one function, allocating
nothing. Calibrated to cost what this addon's hooks cost in-process, it shows how much of
the addon's cost in mitmdump is its own work."""

import os

from noop_addon import Noop  # the same hooks, doing nothing

LOOPS = int(os.environ.get("CORS_BUSY_LOOPS", "0"))


def _has_origin(flow) -> bool:
    for name, _ in flow.request.data.headers.fields:
        if len(name) == 6 and name.lower() == b"origin":
            return True
    return False


class Busy(Noop):
    def response(self, flow):
        if flow.response is None or not _has_origin(flow):
            return
        x = 0
        for i in range(LOOPS):
            x += i
        flow.metadata["busy"] = x


addons = [Busy()]
