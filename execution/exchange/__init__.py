"""The exchange adapter package. Import from here; `execution.exchange_utils` builds the objects."""
from .adapter import ExchangeAdapter, LocalRejection, iter_legs
from .client import HedgeClient, client_class_for
from .client_ids import is_valid_client_order_id, make_client_algo_id, make_client_order_id
from .errors import (
    AmbiguousError,
    AuthError,
    DuplicateOrderError,
    ExchangeError,
    InsufficientMarginError,
    InvalidOrderError,
    IpBannedError,
    NoChangeNeededError,
    RateLimitedError,
    RetryableError,
    TimestampError,
    UnknownOrderError,
    classify,
    error_for,
)
from .ratelimit import RateLimits, WeightBudget
from .records import (
    Balance,
    BookTicker,
    CancelOutcome,
    CancelResult,
    Depth,
    Kline,
    MarkPrice,
    OrderRequest,
    OrderState,
    Outcome,
    PROTECTIVE_KINDS,
    Position,
    ProtectiveOrder,
    ProtectiveRequest,
    ServerTime,
    SettingResult,
    SubmitResult,
    SymbolConfig,
    SymbolSetup,
    UserTrade,
)
from .retry import RetryPolicy

__all__ = [name for name in dir() if not name.startswith("_")]
