"""Helpers for the executor tests: env files, config copies, running `python -m execution.executor`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_env(tmp: Path, venue, *, dry_run: bool, env: str = "dev", extra: str = "") -> Path:
    path = tmp / "test.env"
    path.write_text(f"ENV={env}\nDRY_RUN={1 if dry_run else 0}\nBINANCE_TESTNET=0\n"
                    f"BINANCE_BASE_URL={venue.base_url}\nBINANCE_API_KEY={venue.api_key}\n"
                    f"BINANCE_API_SECRET={venue.api_secret}\nLOG_DIR={tmp / 'logs'}\n"
                    f"STATE_ROOT={tmp / 'logs' / 'state'}\nLOG_LEVEL=INFO\n{extra}")
    return path


def config_copy(tmp: Path, *, threshold: float | None = None, shorts: bool | None = None,
                twap: dict | None = None, router: dict | None = None, executor: dict | None = None,
                exchange: dict | None = None) -> Path:
    """config/ copied to tmp with the hybrid gate thresholds, dev shorts, router.twap overridden."""
    import yaml

    dst = tmp / "config"
    shutil.copytree(REPO_ROOT / "config", dst)
    sc = json.loads((dst / "strategy_config.json").read_text())
    if threshold is not None:
        hs = sc["hybrid_scoring"]
        hs["min_hybrid_score_long"] = hs["min_hybrid_score_short"] = threshold
        for t in hs.get("tier_thresholds", {}).values():
            t["min_hybrid_score_long"] = t["min_hybrid_score_short"] = threshold
    (dst / "strategy_config.json").write_text(json.dumps(sc))
    if shorts is not None:
        pr = yaml.safe_load((dst / "profiles.yaml").read_text())
        pr["profiles"]["dev"]["enable_shorts"] = shorts
        (dst / "profiles.yaml").write_text(yaml.safe_dump(pr))
    if twap is not None or router is not None or executor is not None or exchange is not None:
        rt = yaml.safe_load((dst / "runtime.yaml").read_text())
        rt["exchange"].update(exchange or {})
        rt["router"].update(router or {})
        rt["router"]["twap"].update(twap or {})
        rt.setdefault("executor", {}).update(executor or {})
        (dst / "runtime.yaml").write_text(yaml.safe_dump(rt))
    return dst


def executor_cmd(env_file: Path, config_dir: Path | None, *args: str) -> list[str]:
    cmd = [sys.executable, "-m", "execution.executor", "--env-file", str(env_file)]
    if config_dir is not None:
        cmd += ["--config-dir", str(config_dir)]
    return cmd + list(args)


def proc_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENV", "DRY_RUN", "BINANCE_BASE_URL", "BINANCE_TESTNET", "LOG_DIR", "STATE_ROOT")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_executor(env_file: Path, config_dir: Path | None, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(executor_cmd(env_file, config_dir, *args), cwd=REPO_ROOT, env=proc_env(),
                          capture_output=True, text=True, timeout=timeout)


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


#: a venue whose clock runs 4 market hours per wall second (one new 1h bar per 0.25 s cycle); the weight
#: limit is generous because the test loop is 240x faster than the production one
FAST_VENUE = dict(speed=14400, extra=["--dual-side", "--weight-limit", "100000"])
FAST_ARGS = ["--interval", "0.25", "--nav-source", "account"]
