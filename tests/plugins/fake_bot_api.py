"""A local fake of the Telegram Bot API (aiohttp on 127.0.0.1, a free port) that records what it receives.

    def test_x(fake_bot_api):
        fake_bot_api.base            # "http://127.0.0.1:PORT" -> TELEGRAM_API_BASE
        fake_bot_api.mode = "ok" | "unauthorized" | "hang"
        fake_bot_api.requests        # [{"token", "method", "params"}]
"""
from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from aiohttp import web


class FakeBotApi:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.mode = "ok"
        self.base = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "")
        if "json" in ctype:
            params = json.loads(raw or b"{}")
        else:
            params = dict(await request.post()) if raw else {}
        self.requests.append({"token": token, "method": method, "params": params})
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "unauthorized":
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "hedge",
                                                             "username": "hedge_bot"}})
        chat = params.get("chat_id")
        return web.json_response({"ok": True, "result": {
            "message_id": len(self.requests), "date": int(time.time()),
            "chat": {"id": int(chat) if str(chat).lstrip("-").isdigit() else 0, "type": "private"},
            "text": params.get("text", "")}})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post(r"/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> FakeBotApi:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            except Exception:  # a "hang" handler still sleeping: the daemon thread goes with the test process
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def sent_messages(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "sendMessage"]


@pytest.fixture
def fake_bot_api():
    api = FakeBotApi().start()
    try:
        yield api
    finally:
        api.stop()
