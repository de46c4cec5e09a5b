"""`config/prod_scale_rules_R1.yaml`: launch stages, scale-up / scale-down / hard-stop rules, metric bands."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from settings.errors import FieldError
from settings.model_base import (
    Days,
    Fraction,
    Frozen,
    Metric,
    NonNegFloat,
    NonNegInt,
    PositiveFloat,
)


class Stage(Frozen):
    stage: Annotated[int, Field(ge=0, le=1000)]
    capital_usd: NonNegFloat
    min_days: Annotated[int, Field(ge=0, le=3650)] = 14
    exit_sharpe_14d_gt: Metric | None = None
    exit_sharpe_30d_gt: Metric | None = None  # stage 0 (paper): 30D Sharpe
    exit_mdd_lt: Fraction | None = None
    exit_signal_consistency_gt: Fraction | None = None  # stage 0: paper vs backtest replay decisions
    exit_no_flatten_events: bool = False
    exit_slippage_ratio_le: PositiveFloat | None = None
    exit_all_sleeves_positive_14d: bool = False
    abort_mdd_gt: Fraction | None = None
    abort_sharpe_14d_lt: Metric | None = None
    abort_api_issues_24h_gt: NonNegInt | None = None
    abort_sleeve_14d_lt: Metric | None = None


class ScaleUpRule(Frozen):
    consecutive_days: Days = 10
    sharpe_20d_gt: Metric = 0.8
    mdd_lt: Fraction = 0.08
    slippage_ratio_le: PositiveFloat = 1.2
    funding_drift_le: PositiveFloat = 1.5
    flatten_events_30d_max: NonNegInt = 0
    capital_increase_pct: Fraction = 0.5
    manual_approval: bool = True


class ScaleDownRule(Frozen):
    sharpe_20d_lt: Metric = 0.0
    mdd_gt: Fraction = 0.10
    slippage_ratio_gt: PositiveFloat = 1.5
    slippage_sustained_days: Days = 3
    worst_sleeve_14d_lt: Metric = -0.03
    reduce_pct: Fraction = 0.5


class HardStopRule(Frozen):
    mdd_gt: Fraction = 0.12
    return_30d_lt: Metric = -0.10
    on_risk_guard: Literal["FLATTEN_ALL"] = "FLATTEN_ALL"


class MetricBand(Frozen):
    """Green / yellow / red bands of docs/Production_Launch_SOP.md, by direction of goodness."""

    higher_is_better: bool
    green: Metric
    red: Metric

    @model_validator(mode="after")
    def _ordered(self) -> MetricBand:
        if self.higher_is_better and not self.green >= self.red:
            raise ValueError(f"green ({self.green}) must be >= red ({self.red}) when higher is better")
        if not self.higher_is_better and not self.green <= self.red:
            raise ValueError(f"green ({self.green}) must be <= red ({self.red}) when lower is better")
        return self


def _default_bands() -> dict[str, MetricBand]:
    return {
        "sharpe_20d": MetricBand(higher_is_better=True, green=0.5, red=0.0),
        "running_mdd": MetricBand(higher_is_better=False, green=0.08, red=0.10),
        "return_30d": MetricBand(higher_is_better=True, green=0.0, red=-0.05),
        "slippage_ratio": MetricBand(higher_is_better=False, green=1.2, red=1.5),
        "funding_drag_apr": MetricBand(higher_is_better=False, green=0.01, red=0.02),
        "negative_sleeves_14d": MetricBand(higher_is_better=False, green=0, red=2),
    }


class FrozenExpect(Frozen):
    """What the frozen candidate must say besides its hash (docs/Production_Launch_SOP.md)."""

    trade_on: Literal["next_open"] = "next_open"
    fee_bps: Annotated[float, Field(ge=0.0, le=1000.0)] = 5.0
    slippage_bps: Annotated[float, Field(ge=0.0, le=1000.0)] = 3.0
    funding_enabled: bool = True
    ensemble_enabled: bool = True
    weights: dict[str, Fraction] = Field(default_factory=dict)  # sleeve name -> weight; {} = not checked


class ScaleRules(Frozen):
    config_file: Annotated[str, Field(max_length=4096)] = "config/prod_candidate_R1.yaml"
    config_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    frozen: FrozenExpect = FrozenExpect()
    stages: list[Stage] = Field(min_length=1, max_length=100)
    scale_up: ScaleUpRule = ScaleUpRule()
    scale_down: ScaleDownRule = ScaleDownRule()
    hard_stop: HardStopRule = HardStopRule()
    metric_bands: dict[str, MetricBand] = Field(default_factory=_default_bands)
    yellow_days_before_reduce: Days = 3

    @field_validator("stages")
    @classmethod
    def _ordered_stages(cls, stages: list[Stage]) -> list[Stage]:
        for i in range(1, len(stages)):
            prev, cur = stages[i - 1], stages[i]
            if cur.stage <= prev.stage:
                raise FieldError(
                    (i, "stage"),
                    f"stage {cur.stage} follows stage {prev.stage}: number stages in increasing order without "
                    f"repeats (got {[s.stage for s in stages]})",
                )
            if cur.capital_usd < prev.capital_usd:
                raise FieldError(
                    (i, "capital_usd"),
                    f"{cur.capital_usd:g} is below the previous stage's {prev.capital_usd:g}: stage capital must "
                    "not decrease",
                )
        return stages

    @model_validator(mode="after")
    def _stop_beyond_scale_down(self) -> ScaleRules:
        if self.hard_stop.mdd_gt <= self.scale_down.mdd_gt:
            raise FieldError(
                ("hard_stop", "mdd_gt"),
                f"{self.hard_stop.mdd_gt:g} must be above scale_down.mdd_gt ({self.scale_down.mdd_gt:g}): "
                "positions are reduced before the hard stop flattens everything",
            )
        return self
