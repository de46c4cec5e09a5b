"""Locate ../shared/data (real Binance USD-M data). CI has it; a fresh clone may not."""
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def find_shared_data():
    env = os.environ.get("HEDGE_SHARED_DATA")
    candidates = [pathlib.Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for c in candidates:
        if (c / "klines").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data_dir():
    path = find_shared_data()
    if path is None:
        pytest.skip("../shared/data is not present (set HEDGE_SHARED_DATA to point at it)")
    return path


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT
