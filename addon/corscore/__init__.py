"""cors-creds core: Chromium's CORS decisions over plain values, no I/O and no mitmproxy
import (sans-IO, in the manner of h11).

    http      HTTP facts: the header names read, origins, token lists, redaction
    reasons   the one table of reasons (the closed set ``CorsError``)
    checks    the judgements: pure functions from header values to a Verdict
    remedy    every change that makes the whole request readable: Steps per response
    cookies   cookies as Chromium handles them: Set-Cookie refusals, withheld cookies
    model     the value types: Exchange in, Finding out
    state     all the state: the preflight cache, pending preflights, redirect hops, the
              cookie ledger
    analyzer  exchanges through the judgements and the state, to findings
    render    a finding as the one dict every output is made from
    report    the run's findings, counted and grouped
"""

from .analyzer import Analyzer, classify
from .model import Exchange, Finding, Update
from .reasons import REASONS, CorsError

__all__ = ["Analyzer", "CorsError", "Exchange", "Finding", "REASONS", "Update", "classify"]
