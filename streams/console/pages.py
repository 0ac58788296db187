"""The console's static page (HTML, JS, CSS, i18n) and the security headers on every response."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from streams.console.context import ConsoleContext

STATIC = Path(__file__).parent / "static"
FILES = {"app.js": "text/javascript", "rooms.js": "text/javascript", "feed.js": "text/javascript",
         "i18n.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


class ConsolePages:
    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx
        # Read once: the files ship inside the package and never change while running.
        self._files = {name: (STATIC / name).read_bytes() for name in FILES}

    def routes(self) -> list[web.RouteDef]:
        b = self.ctx.base
        routes = [web.get(f"{b}/", self.index), web.get(f"{b}/static/{{name}}", self.static)]
        if b:
            routes.append(web.get(b, self.redirect))
        return routes

    async def redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{self.ctx.base}/")

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(body=self._files["index.html"], content_type="text/html",
                            charset="utf-8")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in FILES or name == "index.html":
            raise web.HTTPNotFound()
        return web.Response(body=self._files[name], content_type=FILES[name], charset="utf-8")

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        if not request.path.startswith(self.ctx.base + "/") and request.path != self.ctx.base:
            return
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cache-Control", "no-store")
