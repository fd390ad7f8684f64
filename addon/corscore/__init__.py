"""cors-creds core: Chromium's CORS decisions over plain header lists, no I/O and no
mitmproxy import (sans-IO, in the manner of h11)."""

from .analyzer import Analyzer, Update, classify
from .checks import check_access, check_preflight, hidden_response_headers
from .http import Headers, get_normalized, make_headers, origin_of, redact_url
from .model import Exchange, Finding
from .reasons import REASONS, Reason

__all__ = [
    "Analyzer", "Exchange", "Finding", "Headers", "REASONS", "Reason", "Update",
    "check_access", "check_preflight", "classify", "get_normalized",
    "hidden_response_headers", "make_headers", "origin_of", "redact_url",
]
