"""Keep secrets out of logs written by libraries we do not control.

urllib3 logs every request line at DEBUG, and for a signed GET that line carries `signature=<hex>` in the
query string; python-binance's verbose mode logs headers (the API key). A filter on those loggers rewrites
the message before any handler sees it. Our own log lines never contain secrets in the first place (the
dry-run gate logs the unsigned parameters; the API key lives in a session header, not in parameters).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_SIGNATURE = re.compile(r"(signature=)[^&\s\"']+", re.IGNORECASE)
_APIKEY_HEADER = re.compile(r"(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[^'\",\s}]+", re.IGNORECASE)

LIBRARY_LOGGERS = ("urllib3.connectionpool", "binance.base_client", "binance.client", "requests")
HEDGE_LOGGERS = ("hedge.exutil", "hedge.executor")


class SecretRedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def add(self, secrets: Iterable[str]) -> None:
        for s in secrets:
            if s and len(s) >= 4 and s not in self.secrets:
                self.secrets.append(s)

    def redact(self, text: str) -> str:
        text = _SIGNATURE.sub(r"\1***", text)
        text = _APIKEY_HEADER.sub(r"\1***", text)
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the library's problem; let it through unchanged
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = SecretRedactingFilter()


def install_redaction(secrets: Iterable[str] = ()) -> SecretRedactingFilter:
    """Attach (once) the redacting filter to the library loggers and ours; remember `secrets` to mask."""
    _FILTER.add(secrets)
    for name in LIBRARY_LOGGERS + HEDGE_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    return _FILTER
