"""Telegram alerts of the launch scripts (risk guard, reports) through python-telegram-bot.

Configured by FUTURES_TELEGRAM_BOT_TOKEN / FUTURES_TELEGRAM_CHAT_ID (settings.env); TELEGRAM_API_BASE points
the bot at another Bot API server (the tests' local fake). Never raises and never logs the token: the result
is a short status string for the caller's record.
"""
from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["send_telegram"]


def send_telegram(text: str, env: Any) -> str:
    token = env.TELEGRAM_BOT_TOKEN.get_secret_value() if env is not None else ""
    chat = env.TELEGRAM_CHAT_ID if env is not None else ""
    if not token or not chat:
        return "not configured (FUTURES_TELEGRAM_BOT_TOKEN / FUTURES_TELEGRAM_CHAT_ID unset)"
    try:
        from telegram.request import HTTPXRequest

        import telegram

        kw = {"base_url": env.TELEGRAM_API_BASE.rstrip("/") + "/bot"} if env.TELEGRAM_API_BASE else {}

        async def go() -> None:
            bot = telegram.Bot(token, request=HTTPXRequest(connect_timeout=5.0, read_timeout=10.0), **kw)
            async with bot:
                await bot.send_message(chat_id=chat, text=text[:4000])
        asyncio.run(go())
        return "sent"
    except Exception as exc:  # an alert must never stop the guard; the reason is recorded, the token is not
        return f"failed: {type(exc).__name__}: {str(exc).replace(token, '***')[:200]}"
