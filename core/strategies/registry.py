"""`STRATEGIES`: strategy name (as in `settings.models.STRATEGY_NAMES`) -> `StrategySpec`."""
from __future__ import annotations

from core.strategies.base import StrategySpec
from core.strategies.breakout import BREAKOUT_VOL_ATR
from core.strategies.ema_cross import EMA_CROSS
from core.strategies.ma_crossover import MA_CROSSOVER
from core.strategies.tsmom import TSMOM_EMA, TSMOM_MULTI_EMA

STRATEGIES: dict[str, StrategySpec] = {
    spec.name: spec for spec in (BREAKOUT_VOL_ATR, TSMOM_MULTI_EMA, TSMOM_EMA, MA_CROSSOVER, EMA_CROSS)
}
