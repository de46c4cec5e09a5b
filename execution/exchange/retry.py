"""Retry policy: bounded attempts, exponential backoff with jitter, and a cap on Retry-After we will honour."""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # requests per logical call, the first one included
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    # A 429 asking us to wait longer than this is not waited out inside a call: the caller gets
    # RateLimitedError and decides (the executor's loop will come back later anyway).
    max_retry_after_s: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry number `attempt` (1-based): "equal jitter" = half fixed, half random.

        The fixed half guarantees we actually back off; the random half de-synchronises processes that
        failed together (a venue hiccup hits every bot at once).
        """
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** max(0, attempt - 1)))
        return ceiling / 2 + rng.random() * ceiling / 2
