"""The "CORS" contentview, for mitmproxy 11's and 12's contentview APIs: the full
explanation of a flow (checks, values compared, fix headers, related flows),
rendered from its ``flow.metadata["cors_creds"]``."""

from __future__ import annotations

from mitmproxy import contentviews

from corscore.render import explain

NAME = "CORS"


def text_for(flow) -> str:
    meta = getattr(flow, "metadata", {}).get("cors_creds") if flow is not None else None
    return explain(meta)


if hasattr(contentviews, "Contentview"):  # mitmproxy 12

    class CorsContentview(contentviews.Contentview):
        name = NAME
        syntax_highlight = "none"

        def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
            return text_for(metadata.flow)

        def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
            return 0

    _VIEW = CorsContentview()

    def register() -> None:
        contentviews.add(_VIEW)  # a view of the same name is replaced (hot reload)

    def unregister() -> None:
        pass  # mitmproxy 12 has no public unregister; register() replaces by name

else:  # mitmproxy 11
    from mitmproxy.contentviews import base

    class CorsContentview(contentviews.View):
        name = NAME

        def __call__(self, data, *, content_type=None, flow=None, http_message=None, **unknown):
            return "CORS", base.format_text(text_for(flow))

        def render_priority(self, data, *, content_type=None, flow=None, http_message=None,
                            **unknown) -> float:
            return 0

    _VIEW = CorsContentview()

    def register() -> None:
        old = contentviews.get(NAME)
        if old is not None:
            contentviews.remove(old)
        contentviews.add(_VIEW)

    def unregister() -> None:
        if contentviews.get(NAME) is _VIEW:
            contentviews.remove(_VIEW)
