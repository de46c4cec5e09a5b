"""Binance USD-M error codes the venue answers with.

Messages are Binance's own texts (USD-M "Error Codes" documentation page, plus the exact live wording where
the live API is known to differ, e.g. -4164's trailing period). The table lives here so the venue runs
without ../shared. Error bodies are always {"code": <int>, "msg": <str>}.
"""
from __future__ import annotations

# code -> (NAME, default message). "%s" placeholders are filled by VenueError(code, *args).
CODES: dict[int, tuple[str, str]] = {
    -1000: ("UNKNOWN", "An unknown error occured while processing the request."),
    -1001: ("DISCONNECTED", "Internal error; unable to process your request. Please try again."),
    -1003: ("TOO_MANY_REQUESTS", "Too many requests; current limit is %s requests per minute. "
            "Please use the websocket for live updates to avoid polling the API."),
    -1015: ("TOO_MANY_ORDERS", "Too many new orders; current limit is %s orders per %s."),
    -1021: ("INVALID_TIMESTAMP", "Timestamp for this request is outside of the recvWindow."),
    -1022: ("INVALID_SIGNATURE", "Signature for this request is not valid."),
    -1100: ("ILLEGAL_CHARS", "Illegal characters found in parameter '%s'; legal range is '%s'."),
    -1101: ("TOO_MANY_PARAMETERS", "Duplicate values for a parameter detected."),
    -1104: ("UNREAD_PARAMETERS", "Not all sent parameters were read; read '%s' parameter(s) but was sent '%s'."),
    -1102: ("MANDATORY_PARAM_EMPTY_OR_MALFORMED",
            "Mandatory parameter '%s' was not sent, was empty/null, or malformed."),
    -1106: ("PARAM_NOT_REQUIRED", "Parameter '%s' sent when not required."),
    -1111: ("BAD_PRECISION", "Precision is over the maximum defined for this asset."),
    -1115: ("INVALID_TIF", "Invalid timeInForce."),
    -1116: ("INVALID_ORDER_TYPE", "Invalid orderType."),
    -1117: ("INVALID_SIDE", "Invalid side."),
    -1120: ("BAD_INTERVAL", "Invalid interval."),
    -1121: ("BAD_SYMBOL", "Invalid symbol."),
    -1130: ("INVALID_PARAMETER", "Data sent for parameter '%s' is not valid."),
    -2011: ("CANCEL_REJECTED", "Unknown order sent."),
    -2013: ("NO_SUCH_ORDER", "Order does not exist."),
    -2014: ("BAD_API_KEY_FMT", "API-key format invalid."),
    -2015: ("REJECTED_MBX_KEY", "Invalid API-key, IP, or permissions for action."),
    -2019: ("MARGIN_NOT_SUFFICIEN", "Margin is insufficient."),
    -2021: ("ORDER_WOULD_IMMEDIATELY_TRIGGER", "Order would immediately trigger."),
    -2027: ("MAX_LEVERAGE_RATIO", "Exceeded the maximum allowable position at current leverage."),
    -2022: ("REDUCE_ONLY_REJECT", "ReduceOnly Order is rejected."),
    -4003: ("QTY_LESS_THAN_ZERO", "Quantity less than or equal to zero."),
    -4004: ("QTY_LESS_THAN_MIN_QTY", "Quantity less than min quantity."),
    -4005: ("QTY_GREATER_THAN_MAX_QTY", "Quantity greater than max quantity."),
    -4001: ("PRICE_LESS_THAN_ZERO", "Price less than 0."),
    -4002: ("PRICE_GREATER_THAN_MAX_PRICE", "Price greater than max price."),
    -4006: ("STOP_PRICE_LESS_THAN_ZERO", "Stop price less than zero."),
    -4013: ("PRICE_LESS_THAN_MIN_PRICE", "Price less than min price."),
    -4014: ("PRICE_NOT_INCREASED_BY_TICK_SIZE", "Price not increased by tick size."),
    -4015: ("INVALID_CL_ORD_ID_LEN", "Client order id length should not be more than 36 chars"),
    -4016: ("PRICE_HIGHTER_THAN_MULTIPLIER_UP", "Price is higher than mark price multiplier cap."),
    -4023: ("QTY_NOT_INCREASED_BY_STEP_SIZE", "Qty not increased by step size."),
    -4024: ("PRICE_LOWER_THAN_MULTIPLIER_DOWN", "Price is lower than mark price multiplier floor."),
    -4028: ("INVALID_LEVERAGE", "Leverage %s is not valid"),
    -4046: ("NO_NEED_TO_CHANGE_MARGIN_TYPE", "No need to change margin type."),
    -4047: ("THERE_EXISTS_OPEN_ORDERS", "Margin type cannot be changed if there exists open orders."),
    -4048: ("THERE_EXISTS_QUANTITY", "Margin type cannot be changed if there exists position."),
    -4059: ("NO_NEED_TO_CHANGE_POSITION_SIDE", "No need to change position side."),
    -4061: ("POSITION_SIDE_NOT_MATCH", "Order's position side does not match user's setting."),
    -4067: ("POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS",
            "Position side cannot be changed if there exists open orders."),
    -4068: ("POSITION_SIDE_CHANGE_EXISTS_QUANTITY",
            "Position side cannot be changed if there exists position."),
    -4167: ("ISOLATED_REJECT_WITH_JOINT_MARGIN",
            "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under isolated-margin mode."),
    -4168: ("JOINT_MARGIN_REJECT_WITH_ISOLATED",
            "Unable to adjust to isolated-margin mode under the Multi-Assets mode."),
    -4171: ("NO_NEED_TO_CHANGE_JOINT_MARGIN",
            "Adjusted asset mode is currently set and does not need to be adjusted repeatedly."),
    -4116: ("DUPLICATED_CLIENT_ORDER_ID", "clientOrderId is duplicated"),
    -4120: ("STOP_ORDER_SWITCH_ALGO",
            "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."),
    -4137: ("QUANTITY_EXISTS_WITH_CLOSE_POSITION", "Quantity must be zero with closePosition equals true"),
    -4164: ("MIN_NOTIONAL", "Order's notional must be no smaller than %s (unless you choose reduce only)."),
    -5000: ("INVALID_PATH", "Path %s, Method %s is invalid"),
    -5021: ("FOK_ORDER_REJECT",
            "Due to the order could not be filled immediately, the FOK order has been rejected."),
    -5022: ("GTX_ORDER_REJECT",
            "Due to the order could not be executed as maker, the Post Only order will be rejected."),
}

# Binance answers auth failures with 401, throttling with 429/418, everything else in the table with 400.
HTTP_STATUS = {-2014: 401, -2015: 401, -1003: 429, -1015: 429}


class VenueError(Exception):
    """A rejection with Binance's code and message; `http` is the status the venue answers with."""

    def __init__(self, code: int, *args: object, msg: str | None = None, http: int | None = None):
        if msg is None:
            template = CODES[code][1]
            msg = template % args if args else template
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http = http or HTTP_STATUS.get(code, 400)
        self.retry_after: int | None = None         # seconds, for the Retry-After header (429 / 418)
        self.counts: tuple[int, int] | None = None  # new orders in the 10 s / 1 min windows (-1015)

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


def missing(name: str) -> VenueError:
    return VenueError(-1102, name)


def bad_param(name: str) -> VenueError:
    return VenueError(-1130, name)
