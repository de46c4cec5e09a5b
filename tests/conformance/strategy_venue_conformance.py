"""A trivial freqtrade strategy for the venue conformance test (tests/conformance/test_freqtrade.py).

Long every pair once, at market, with a 1 % exchange-side stop (stoploss_on_exchange). A pair listed in the
config's `venue_time_exit` ({pair: epoch ms}) is closed by a custom exit once that time has passed (after the
funding event the test scheduled), so its trade record carries the funding fee. Nothing venue-specific:
freqtrade runs it unmodified against the venue.
"""
from datetime import datetime

from freqtrade.strategy import IStrategy


class VenueConformance(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    stoploss = -0.01
    minimal_roi = {"0": 100}
    startup_candle_count = 3
    process_only_new_candles = False
    use_exit_signal = True
    order_types = {"entry": "market", "exit": "market", "stoploss": "market",
                   "stoploss_on_exchange": True, "stoploss_on_exchange_interval": 5}
    entered: set = set()

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe

    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time, entry_tag,
                            side, **kwargs) -> bool:
        if pair in self.entered:             # one trade per pair
            return False
        self.entered.add(pair)
        return True

    def custom_exit(self, pair, trade, current_time: datetime, current_rate, current_profit, **kwargs):
        at = self.config.get("venue_time_exit", {}).get(pair)
        if at is not None and current_time.timestamp() * 1000 >= at:
            return "time_exit"
        return None

    def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag, side,
                 **kwargs) -> float:
        return 2.0
