"""The live alert feed as Server-Sent Events, followed from the shared Redis stream."""

from __future__ import annotations

import asyncio
import contextlib
import re

import orjson
from aiohttp import web

from streams.console.context import ConsoleContext, log
from streams.console.views import STORE_ERRORS, with_acks

_ID = re.compile(r"^\d{1,20}-\d{1,20}\Z")


class AlertStream:
    """GET {base}/api/stream: entries after `Last-Event-ID` (or `?after=`), pushed as they
    arrive."""

    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{self.ctx.base}/api/stream", self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        session = self.ctx.require(request)
        after = request.headers.get("Last-Event-ID") or request.query.get("after") or ""
        if not _ID.match(after):
            after = await self.ctx.feed.last_id()
        resp = web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        task = asyncio.current_task()
        self.ctx.streams.add(task)
        try:
            await resp.write(b"retry: 2000\n\n")
            while not self.ctx.closing.is_set():
                try:
                    if not await self.ctx.session_alive(session):  # expired or logged out
                        await resp.write(b"event: expired\ndata: {}\n\n")
                        break
                    events = await self._follow(after)
                    if events is None:
                        break  # shutting down: end the response cleanly
                    docs = await with_acks(self.ctx, events)
                except STORE_ERRORS as exc:
                    log.warning("console: feed unavailable (%s)", type(exc).__name__)
                    await resp.write(b"event: unavailable\ndata: {}\n\n")
                    await asyncio.sleep(1)
                    continue
                if not docs:
                    await resp.write(b": keep-alive\n\n")  # also how a gone client is noticed
                    continue
                for doc in docs:
                    await resp.write(b"id: %s\nevent: %s\ndata: %s\n\n" % (
                        doc["id"].encode(), doc["kind"].encode(), orjson.dumps(doc)))
                after = docs[-1]["id"]
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.ctx.streams.discard(task)
        return resp

    async def _follow(self, after: str):
        """The next entries, or None as soon as the server starts shutting down."""
        follow = asyncio.ensure_future(self.ctx.feed.follow(after, self.ctx.block_ms))
        closing = asyncio.ensure_future(self.ctx.closing.wait())
        try:
            await asyncio.wait({follow, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if not follow.done():
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError, *STORE_ERRORS):
                await follow
            return None
        return follow.result()

    async def on_shutdown(self, _app: web.Application) -> None:
        """Open streams would hold the server's shutdown for its whole grace period: end them."""
        self.ctx.closing.set()
        for _ in range(50):
            if not self.ctx.streams:
                return
            await asyncio.sleep(0.02)
        for task in list(self.ctx.streams):
            task.cancel()
