"""The client's browser engine, from its User-Agent, and each engine's own words for a
finding: its reason name and the console text it prints (engines-observed.md; Firefox's
templates are those of its security.properties, WebKit's the texts WebKitGTK 2.50 printed).

The verdicts are Chromium's and the flows as seen: Firefox and WebKit agree with them on
every case measured, and where they differ the difference is on the wire (a redirected
request's second preflight). What differs is the words, the order of a few checks
(WebKit judges a preflight's status before its headers) and the cookie policy
(``cookies.POLICIES``)."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from .http import HTTP_WHITESPACE, is_token, printable, strip_userinfo
from .reasons import REASONS, CorsError as E, render as fill


class Engine(StrEnum):
    CHROMIUM = "chromium"  # Blink
    FIREFOX = "firefox"  # Gecko
    WEBKIT = "webkit"  # Safari, every iOS browser and webview, WebKitGTK
    UNKNOWN = "unknown"  # spoken to in Chromium's words, and said so


class Browser(NamedTuple):
    engine: Engine
    name: str  # "Firefox 153", "Chrome 156", "Safari 18.2 (iOS)", "curl 8.5" …


_VERSION = r"/(\d+(?:\.\d+)?)"


def _find(ua: str, token: str) -> str | None:
    m = re.search(re.escape(token) + _VERSION, ua)
    return m.group(1) if m else None


def _named(label: str, version: str | None, where: str = "") -> str:
    name = f"{label} {version}" if version else label
    return f"{name} ({where})" if where else name


# Blink browsers that say so with a token of their own, checked before Chrome/.
_BLINK_TOKENS = (("Edg", "Edge"), ("EdgA", "Edge"), ("OPR", "Opera"),
                 ("SamsungBrowser", "Samsung Internet"), ("YaBrowser", "Yandex Browser"),
                 ("Vivaldi", "Vivaldi"), ("HeadlessChrome", "HeadlessChrome"),
                 ("Chromium", "Chromium"), ("Chrome", "Chrome"), ("CriOS", "Chrome"))
# iOS browsers (all WebKit) and in-app webviews.
_IOS_TOKENS = (("CriOS", "Chrome"), ("FxiOS", "Firefox"), ("EdgiOS", "Edge"),
               ("OPiOS", "Opera"), ("OPT", "Opera Touch"), ("GSA", "Google app"),
               ("FBAV", "Facebook app"), ("Instagram", "Instagram app"),
               ("DuckDuckGo", "DuckDuckGo"), ("Brave", "Brave"))


@lru_cache(maxsize=512)
def classify(user_agent: str | None) -> Browser:
    """The engine and a short name, from a User-Agent header (cached per distinct value:
    a proxy sees few of them)."""
    ua = (user_agent or "").strip()
    if not ua:
        return Browser(Engine.UNKNOWN, "no User-Agent")
    if re.search(r"\b(iPhone|iPad|iPod)\b", ua) or ("Macintosh" in ua and "Mobile/" in ua):
        for token, label in _IOS_TOKENS:
            v = _find(ua, token)
            if v is not None or f" {token} " in ua or ua.endswith(token):
                return Browser(Engine.WEBKIT, _named(label, v, "iOS, WebKit"))
        if "Safari/" in ua and "Version/" in ua:
            return Browser(Engine.WEBKIT, _named("Safari", _find(ua, "Version"), "iOS"))
        return Browser(Engine.WEBKIT, "iOS webview")
    if "Gecko/" in ua and "like Gecko" not in ua or "Firefox/" in ua:
        v = _find(ua, "Firefox")
        where = "Android" if "Android" in ua else ""
        return Browser(Engine.FIREFOX, _named("Firefox", v, where) if v else "Gecko")
    if "Edge/" in ua and "Chrome/" in ua and "Edg/" not in ua:  # EdgeHTML: neither engine
        return Browser(Engine.UNKNOWN, _named("Edge (EdgeHTML)", _find(ua, "Edge")))
    if "Chrome/" in ua or "Chromium/" in ua or "HeadlessChrome/" in ua:
        if "Android" in ua and ("; wv)" in ua or "Version/" in ua):
            return Browser(Engine.CHROMIUM, _named("Android WebView", _find(ua, "Chrome")))
        for token, label in _BLINK_TOKENS:
            v = _find(ua, token)
            if v is not None:
                return Browser(Engine.CHROMIUM,
                               _named(label, v, "Android" if "Android" in ua else ""))
    if "AppleWebKit/" in ua:
        if "Epiphany/" in ua:
            return Browser(Engine.WEBKIT, _named("Epiphany", _find(ua, "Epiphany")))
        if "Safari/" in ua and ("Linux" in ua or "X11" in ua):
            return Browser(Engine.WEBKIT, "WebKitGTK")
        if "Safari/" in ua:
            return Browser(Engine.WEBKIT, _named("Safari", _find(ua, "Version")))
        return Browser(Engine.WEBKIT, "WebKit webview")
    product = re.match(r"([A-Za-z][\w.-]*)(?:/([\w.]+))?", ua)
    if product:
        return Browser(Engine.UNKNOWN, _named(product.group(1)[:40],
                                              (product.group(2) or "")[:20] or None))
    return Browser(Engine.UNKNOWN, "unrecognised User-Agent")


# -- each engine's words -----------------------------------------------------------------

class Words(NamedTuple):
    reason: str | None  # the engine's own reason name (WebKit has none)
    message: str  # its console text, filled with the flow's values
    note: str = ""  # what else the engine prints, or how its words were chosen


_FF_AT = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "
_FF_AFTER = ("then also: \"(Reason: CORS request did not succeed). Status code: (null).\" "
             "(CORSDidNotSucceed)")
_PREFLIGHT_STATUS = "Preflight response is not successful. Status code: {status}"


def _bad_token(raw: str) -> str:
    """The first element of a comma list that is not a token, as Firefox names it."""
    for part in raw.split(","):
        part = part.strip(HTTP_WHITESPACE)
        if part and not is_token(part):
            return part
    return raw


def _title(name: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


@lru_cache(maxsize=2048)
def words(engine: Engine, reason: E, role: str, url: str, origin: str, value: str | None,
          fields: tuple[tuple[str, str], ...]) -> Words:
    """What ``engine`` says when it hides a response for ``reason`` (Chromium's name, the
    stable key). ``role``: "actual", "preflight" or "redirect"; ``fields``: the finding's."""
    f = dict(fields)
    status = f.get("status", "")
    values = {k: printable(v) for k, v in {
        **f, "url": url, "origin": origin, "value": value or "",
        "token": _bad_token(f.get("raw", "")), "header": _title(value or "")}.items()}
    row = REASONS[reason]
    if engine == Engine.FIREFOX:
        name, text = row.firefox, row.firefox_text
        base = reason.removeprefix("Preflight") if reason.startswith("Preflight") and \
            reason not in (E.PreflightInvalidStatus, E.PreflightDisallowedRedirect) else reason
        if base == E.MultipleAllowOriginValues and f.get("acao_lines", "1") == "1":
            name = "CORSAllowOriginNotMatchingOrigin"  # one line holding a list
            text = REASONS[E.AllowOriginMismatch].firefox_text
        note = _FF_AFTER if role in ("preflight", "redirect") or reason.startswith("Preflight") \
            else ""
        return Words(name or None, fill(_FF_AT + text, values), note)
    if engine == Engine.WEBKIT:
        if role == "preflight" and not status.startswith("2"):
            # WebKit checks a preflight's status before its headers
            return Words(None, fill(_PREFLIGHT_STATUS, values),
                         "WebKit judges a preflight's status before its CORS headers"
                         if reason != E.PreflightInvalidStatus else "")
        text = row.webkit
        if reason.removeprefix("Preflight") == E.MultipleAllowOriginValues and \
                "," not in (value or ""):
            text = REASONS[E.AllowOriginMismatch].webkit  # only a comma list is "several"
        message = fill(text, values)
        if role == "redirect" and f.get("next_url"):
            message = (f"Cross-origin redirection to {strip_userinfo(values['next_url'])} "
                       f"denied by Cross-Origin Resource Sharing policy: {message}")
        return Words(None, message)
    console = fill(row.console, values)
    return Words(str(reason), f"Access to fetch at '{url}' from origin '{origin}' has been "
                 f"blocked by CORS policy: {console}",
                 "" if engine == Engine.CHROMIUM else "an unrecognised client: Chromium's words")


class EngineNote(NamedTuple):
    """Where the same server would fail (or pass) in other engines than the client's:
    which engines, and why."""

    engines: tuple[Engine, ...]
    text: str
