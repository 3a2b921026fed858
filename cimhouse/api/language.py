"""The language of each API request, from its ``Accept-Language`` header (default English).

:class:`RequestLanguage` is an ASGI middleware: messages made while the request runs
(``cimhouse.i18n._``) are in that language; errors carry both languages in ``extensions``
(``message_zh``, ``message_en``) whatever the header says.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from cimhouse.i18n import language_from_accept, language_scope


class RequestLanguage:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"accept-language", b"")
        with language_scope(language_from_accept(header.decode("latin-1"), "en")):
            await self.app(scope, receive, send)
