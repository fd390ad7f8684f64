import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON_DIR = os.path.join(ROOT, "addon")
ADDON = os.path.join(ADDON_DIR, "cors_creds.py")
sys.path.insert(0, ADDON_DIR)

# Property tests explore new random examples on every local run; CI (CI=true) replays a
# fixed sequence so that a submission's result does not depend on luck.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_terminal_summary(terminalreporter):
    """Print the browser suite's one-line agreement summary, when it ran."""
    for name in ("test_browser", "test_browser_cookies", "test_browser_engines",
                 "test_browser_engine_cookies"):
        for line in getattr(sys.modules.get(name), "SUMMARY", []):
            terminalreporter.write_line(line)
