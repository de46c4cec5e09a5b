"""Raw HTTP to the venue for hostile-input tests: exact bytes on the wire, no client library smoothing.

    status, body, headers = raw(v, "POST", "/fapi/v1/order", {"symbol": "BTCUSDT", ...})   # signed
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import urlencode, urlsplit


def sign(secret: str, total: str) -> str:
    return hmac.new(secret.encode(), total.encode(), hashlib.sha256).hexdigest()


def request(v, method: str, target: str, body: bytes | str | None = None, headers: dict | None = None,
            timeout: float = 10.0) -> tuple[int, object, dict]:
    """Send exactly `target` (path + raw query) and `body`; (status, parsed JSON or text, headers)."""
    u = urlsplit(v.base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): val for k, val in r.getheaders()}
    finally:
        conn.close()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = data.decode(errors="replace")
    return r.status, parsed, hdrs


def raw(v, method: str, path: str, params: dict | None = None, *, signed: bool = True, in_body=None,
        query: str | None = None, body: str | None = None, key: str | None = None, timeout: float = 10.0):
    """A signed (or key-only / public) Binance request built like python-binance builds it: GET/DELETE
    parameters in the query, POST/PUT in a form body. `query` / `body` override the built parts verbatim
    (the signature is still computed over whatever is sent)."""
    params = dict(params or {})
    if signed:
        params.setdefault("timestamp", str(int(time.time() * 1000)))
    enc = urlencode(params)
    in_body = method in ("POST", "PUT") if in_body is None else in_body
    q, b = ("", enc) if in_body else (enc, "")
    if query is not None:
        q = query
    if body is not None:
        b = body
    if signed:
        sig = sign(v.api_secret, q + b)
        if b or in_body:
            b = b + ("&" if b else "") + "signature=" + sig
        else:
            q = q + ("&" if q else "") + "signature=" + sig
    headers = {"X-MBX-APIKEY": key if key is not None else v.api_key}
    if b:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return request(v, method, path + ("?" + q if q else ""), b or None, headers, timeout)


def admin_raw(v, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return request(v, method, path, body, h)
