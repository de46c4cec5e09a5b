"""Small, valid answers for the spot, COIN-M and wallet endpoints a stock ccxt `binance` calls while loading
markets with keys set (docs/VENUE.md "Other bots"): no spot or COIN-M markets, one asset (USDT), so a bot
only needs its URLs pointed at the venue."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import Account


def other_exchange_info(server_ms: int) -> dict:
    """Spot /api/v3/exchangeInfo and COIN-M /dapi/v1/exchangeInfo: the venue lists no markets there."""
    return {"timezone": "UTC", "serverTime": server_ms, "rateLimits": [], "exchangeFilters": [], "symbols": []}


def capital_config(acct: Account) -> list[dict]:
    """/sapi/v1/capital/config/getall: the USDT coin, not depositable or withdrawable here."""
    return [{
        "coin": "USDT", "name": "TetherUS", "depositAllEnable": False, "withdrawAllEnable": False,
        "free": "0", "locked": "0", "freeze": "0", "withdrawing": "0", "ipoing": "0", "ipoable": "0",
        "storage": "0", "isLegalMoney": False, "trading": True,
        "networkList": [{
            "network": "BSC", "coin": "USDT", "name": "BNB Smart Chain (BEP20)", "isDefault": True,
            "depositEnable": False, "withdrawEnable": False, "depositDesc": "", "withdrawDesc": "",
            "specialTips": "", "resetAddressStatus": False, "addressRegex": "^(0x)[0-9A-Fa-f]{40}$",
            "memoRegex": "", "withdrawFee": "0", "withdrawMin": "0", "withdrawMax": "0",
            "withdrawIntegerMultiple": "0.00000001", "minConfirm": 15, "unLockConfirm": 0,
            "sameAddress": False, "estimatedArrivalTime": 1, "busy": False, "contractAddressUrl": "",
            "contractAddress": "",
        }],
    }]
