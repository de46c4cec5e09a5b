"""Loading what a portfolio backtest or a launch script needs: the candidate and scale rules (any path, typed
and validated by `settings`), the frozen-config checks (docs/Production_Launch_SOP.md), the risk files and exchange
filters."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from backtest.portfolio import RiskSetup
from core.filters import parse_exchange_info
from settings.errors import ConfigError, format_validation_error
from settings.loader import load_file, parse_document
from settings.models import CandidateConfig, ScaleRules

__all__ = ["FrozenCheck", "load_model", "load_candidate", "load_rules", "sha256_file", "frozen_checks",
           "risk_setup", "exchange_filters"]

REPO_ROOT = Path(__file__).resolve().parents[1]
VENUE_EXCHANGE_INFO = REPO_ROOT / "venue" / "exchange_info_default.json"


def load_model(path: str | Path, model: type[BaseModel]) -> Any:
    """A config file of any name validated as `model`; errors name the file, line and field (ConfigError)."""
    path = Path(path)
    doc = parse_document(path, str(path))
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc, model, doc.lines)) from None


def load_candidate(path: str | Path) -> CandidateConfig:
    return load_model(path, CandidateConfig)


def load_rules(path: str | Path) -> ScaleRules:
    return load_model(path, ScaleRules)


def sha256_file(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class FrozenCheck:
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def resolve(path: str) -> Path:
    """A repo-relative config path: from the working directory when it exists there, else the repo root."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    return REPO_ROOT / p


def frozen_checks(rules: ScaleRules, candidate_path: str | Path | None = None) -> list[FrozenCheck]:
    """The frozen candidate: hash recorded in the rules and matching the file, and the fields the rules
    expect (`trade_on`, `fee_bps`, `slippage_bps`, `funding_rate.enabled`, `ensemble` and its weights)."""
    path = Path(candidate_path) if candidate_path is not None else resolve(rules.config_file)
    out: list[FrozenCheck] = []
    if not path.is_file():
        return [FrozenCheck("config_hash", False, f"{path}: file not found")]
    actual = sha256_file(path)
    if rules.config_sha256 is None:
        out.append(FrozenCheck("config_hash", False,
                               f"no config_sha256 recorded in the scale rules (the file's is {actual})"))
    else:
        same = actual == rules.config_sha256
        out.append(FrozenCheck("config_hash", same, f"sha256 {actual}" + ("" if same else
                               f" != recorded {rules.config_sha256}: the frozen config was modified "
                               "(restore it with git checkout)")))
    try:
        cand = load_candidate(path)
    except ConfigError as exc:
        return out + [FrozenCheck("config_valid", False, str(exc))]
    exp = rules.frozen
    out.append(FrozenCheck("trade_on", cand.trade_on == exp.trade_on,
                           f"trade_on: {cand.trade_on} (expected {exp.trade_on})"))
    out.append(FrozenCheck("fee_bps", cand.costs.fee_bps == exp.fee_bps,
                           f"fee_bps: {cand.costs.fee_bps:g} (expected {exp.fee_bps:g})"))
    out.append(FrozenCheck("slippage_bps", cand.costs.slippage_bps == exp.slippage_bps,
                           f"slippage_bps: {cand.costs.slippage_bps:g} (expected {exp.slippage_bps:g})"))
    out.append(FrozenCheck("funding_rate.enabled", cand.funding_rate.enabled == exp.funding_enabled,
                           f"funding_rate.enabled: {cand.funding_rate.enabled} (expected {exp.funding_enabled})"))
    weights = {s.name: s.weight for s in cand.ensemble.sleeves}
    ok = cand.ensemble.enabled == exp.ensemble_enabled and (not exp.weights or all(
        abs(weights.get(k, -1.0) - v) < 1e-12 for k, v in exp.weights.items()) and set(weights) == set(exp.weights))
    out.append(FrozenCheck("ensemble", ok, f"ensemble.enabled: {cand.ensemble.enabled}, weights {weights}"
                           + ("" if ok else f" (expected enabled={exp.ensemble_enabled}, weights {exp.weights})")))
    return out


def exchange_filters(data_dir: str | Path | None) -> dict[str, Any]:
    """Filters from DATA/exchange/exchangeInfo-fapi.json, else the venue's shipped exchangeInfo."""
    src = Path(data_dir) / "exchange" / "exchangeInfo-fapi.json" if data_dir is not None else None
    if src is None or not src.is_file():
        src = VENUE_EXCHANGE_INFO
    return parse_exchange_info(json.loads(src.read_text()))


def risk_setup(config_dir: str | Path, data_dir: str | Path | None) -> RiskSetup:
    """The live risk files (`risk_limits.json`, `correlation_groups.json` of `config_dir`) and the filters."""
    d = Path(config_dir)
    return RiskSetup(load_file(d, "risk_limits.json"), load_file(d, "correlation_groups.json"),  # type: ignore[arg-type]
                     exchange_filters(data_dir))


def kill_switch_state(state_root: str | Path) -> tuple[bool, str]:
    """(engaged, detail) from STATE_ROOT/kill_switch.json (docs/STATE_FILES.md): absent = not engaged; a file
    that cannot be read counts as engaged (the safe reading of a switch someone meant to set)."""
    path = Path(state_root) / "kill_switch.json"
    if not path.exists():
        return False, "kill switch not engaged"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return True, f"{path} unreadable ({type(exc).__name__}): treated as engaged"
    if not isinstance(doc, dict) or not doc.get("active"):
        return False, "kill switch not engaged"
    return True, f"kill switch engaged since {doc.get('since')} by {doc.get('by')}: {doc.get('reason')}"
