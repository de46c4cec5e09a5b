"""The one table of environments for the safety gate (settings/safety_gate.py): the preflight script and
build_client are both tested over it, so whatever the preflight refuses, no client can be built for.

Each case: (id, .env text, process environment, extra args, expected exit of the preflight, text expected
in its output: the audit line on success, the problem line on refusal).
"""
from __future__ import annotations

MAINNET = "ENV=mainnet\nDRY_RUN=1\nBINANCE_TESTNET=0\nBINANCE_BASE_URL=https://fapi.binance.com\n"
MAINNET_LINE = "[preflight] v7.4 mainnet + DRY_RUN=True testnet=False"
DEV_LINE = "[preflight] v7.4 dev + DRY_RUN=True testnet=False base=http://127.0.0.1:18080"


def _with(base: str, **overrides: str) -> str:
    """base env text with some variables replaced (or appended)."""
    lines = [l for l in base.splitlines() if l.split("=", 1)[0] not in overrides]
    return "\n".join(lines + [f"{k}={v}" for k, v in overrides.items()]) + "\n"


# (id, .env text, process environment, extra args, expected exit, text expected in the output)
CASES = [
    ("mainnet_ok", MAINNET, {}, [], 0, MAINNET_LINE),
    # a testnet address exported under a *_BASE name must be caught exactly like one in the file
    ("stray_testnet_base_env_var", MAINNET, {"FUTURES_API_BASE": "https://testnet.binancefuture.com"}, [], 1,
     "FUTURES_API_BASE=https://testnet.binancefuture.com is a TESTNET address"),
    ("prod_ok", _with(MAINNET, ENV="prod"), {}, [], 0, MAINNET_LINE),
    ("prod_upper_case", _with(MAINNET, ENV="PROD"), {}, [], 0, MAINNET_LINE),
    ("dry_run_true_word", _with(MAINNET, DRY_RUN="True"), {}, [], 0, MAINNET_LINE),
    ("dry_run_yes", _with(MAINNET, DRY_RUN="yes"), {}, [], 0, MAINNET_LINE),
    ("testnet_flag_absent", MAINNET.replace("BINANCE_TESTNET=0\n", ""), {}, [], 0, MAINNET_LINE),
    ("testnet_false_word", _with(MAINNET, BINANCE_TESTNET="false"), {}, [], 0, MAINNET_LINE),
    ("url_mixed_case_slash", _with(MAINNET, BINANCE_BASE_URL="HTTPS://FAPI.Binance.COM/"), {}, [], 0, MAINNET_LINE),
    ("url_trailing_slash", _with(MAINNET, BINANCE_BASE_URL="https://fapi.binance.com/"), {}, [], 0, MAINNET_LINE),
    ("url_default_port", _with(MAINNET, BINANCE_BASE_URL="https://fapi.binance.com:443"), {}, [], 0, MAINNET_LINE),
    ("dry_run_False", _with(MAINNET, DRY_RUN="False"), {}, [], 1,
     "DRY_RUN=False with ENV=mainnet: this phase is mainnet + DRY RUN and real orders would be sent; set DRY_RUN=1"),
    ("dry_run_0", _with(MAINNET, DRY_RUN="0"), {}, [], 1, "DRY_RUN=0 with ENV=mainnet"),
    ("dry_run_0_prod", _with(MAINNET, ENV="prod", DRY_RUN="0"), {}, [], 1, "DRY_RUN=0 with ENV=prod"),
    ("dry_run_tru", _with(MAINNET, DRY_RUN="tru"), {}, [], 1,
     "DRY_RUN: expected 1/true/yes/on or 0/false/no/off (got 'tru')"),
    ("dry_run_empty", _with(MAINNET, DRY_RUN=""), {}, [], 1, "DRY_RUN: expected 1/true/yes/on or 0/false/no/off (got '')"),
    ("testnet_1", _with(MAINNET, BINANCE_TESTNET="1"), {}, [], 1,
     "BINANCE_TESTNET=1: testnet is not allowed in this phase; set BINANCE_TESTNET=0 or remove it"),
    ("testnet_yes", _with(MAINNET, BINANCE_TESTNET="yes"), {}, [], 1,
     "BINANCE_TESTNET=yes: testnet is not allowed in this phase; set BINANCE_TESTNET=0 or remove it"),
    ("testnet_bad_value", _with(MAINNET, BINANCE_TESTNET="maybe"), {}, [], 1, "BINANCE_TESTNET: expected"),
    ("url_evil_suffix", _with(MAINNET, BINANCE_BASE_URL="https://fapi.binance.com.evil.example"), {}, [], 1,
     "BINANCE_BASE_URL=https://fapi.binance.com.evil.example with ENV=mainnet is not the Binance mainnet futures URL; "
     "set BINANCE_BASE_URL=https://fapi.binance.com"),
    ("url_no_tls", _with(MAINNET, BINANCE_BASE_URL="http://fapi.binance.com"), {}, [], 1, "uses plain http (no TLS"),
    ("url_testnet", _with(MAINNET, BINANCE_BASE_URL="https://testnet.binancefuture.com"), {}, [], 1,
     "BINANCE_BASE_URL=https://testnet.binancefuture.com is a TESTNET address"),
    ("url_demo", _with(MAINNET, BINANCE_BASE_URL="https://demo-fapi.binance.com"), {}, [], 1,
     "BINANCE_BASE_URL=https://demo-fapi.binance.com is a TESTNET address"),
    ("url_local_on_mainnet", _with(MAINNET, BINANCE_BASE_URL="http://127.0.0.1:18080"), {}, [], 1,
     "is not the Binance mainnet futures URL"),
    ("url_path", _with(MAINNET, BINANCE_BASE_URL="https://fapi.binance.com/fapi/v1"), {}, [], 1,
     "is not the Binance mainnet futures URL"),
    ("url_garbage", _with(MAINNET, BINANCE_BASE_URL="fapi.binance.com"), {}, [], 1,
     "BINANCE_BASE_URL: expected an http(s) URL"),
    ("env_unknown", _with(MAINNET, ENV="staging"), {}, [], 1, "ENV: Input should be 'dev', 'prod' or 'mainnet'"),
    ("dev_local_ok", "ENV=dev\nDRY_RUN=1\nBINANCE_BASE_URL=http://127.0.0.1:18080\n", {}, [], 0, DEV_LINE),
    ("dev_localhost_ok", "ENV=dev\nBINANCE_BASE_URL=http://localhost:18080/\n", {}, [], 0,
     "[preflight] v7.4 dev + DRY_RUN=True testnet=False base=http://localhost:18080"),
    ("dev_live_local_ok", "ENV=dev\nDRY_RUN=0\n", {}, [], 0,
     "[preflight] v7.4 dev + DRY_RUN=False testnet=False base=http://127.0.0.1:18080"),
    ("dev_on_mainnet", "ENV=dev\nDRY_RUN=0\nBINANCE_BASE_URL=https://fapi.binance.com\n", {}, [], 1,
     "ENV=dev but BINANCE_BASE_URL=https://fapi.binance.com is not the local venue"),
    ("dev_fake_loopback_name", "ENV=dev\nBINANCE_BASE_URL=http://127.evil.example\n", {}, [], 1, "is not the local venue"),
    ("dev_testnet_flag", "ENV=dev\nBINANCE_TESTNET=1\n", {}, [], 1, "BINANCE_TESTNET=1: testnet is not allowed"),
    ("env_var_overrides_file_bad", MAINNET, {"DRY_RUN": "0"}, [], 1, "DRY_RUN=0 with ENV=mainnet"),
    ("env_var_overrides_file_good", _with(MAINNET, DRY_RUN="0"), {"DRY_RUN": "1"}, [], 0, MAINNET_LINE),
    ("env_var_testnet", MAINNET, {"BINANCE_TESTNET": "true"}, [], 1, "BINANCE_TESTNET=true: testnet is not allowed"),
    ("stray_testnet_flag", MAINNET + "USE_TESTNET=1\n", {}, [], 1,
     "USE_TESTNET=1: looks like a testnet switch and testnet is not allowed in this phase; set USE_TESTNET=0 or remove it"),
    ("stray_testnet_flag_off", MAINNET + "USE_TESTNET=0\n", {}, [], 0, MAINNET_LINE),
    ("stray_testnet_flag_unreadable", MAINNET + "USE_TESTNET=maybe\n", {}, [], 1,  # unreadable: read as ON
     "USE_TESTNET=maybe: looks like a testnet switch"),
    ("stray_testnet_flag_empty", MAINNET + "USE_TESTNET=\n", {}, [], 0, MAINNET_LINE),
    ("stray_testnet_env_var", MAINNET, {"BINANCE_FUTURES_TESTNET": "yes"}, [], 1, "BINANCE_FUTURES_TESTNET=yes"),
    ("stray_testnet_url", MAINNET + "BASE_URL=https://testnet.binancefuture.com\n", {}, [], 1,
     "BASE_URL=https://testnet.binancefuture.com is a TESTNET address"),
    ("lowercase_name_ignored", MAINNET + "binance_testnet=1\n", {}, [], 1,
     "binance_testnet: variable names are case-sensitive, so this line is IGNORED; write it as BINANCE_TESTNET"),
    ("allow_live", _with(MAINNET, DRY_RUN="0"), {}, ["--allow-live"], 0,
     "[preflight] v7.4 mainnet + DRY_RUN=False testnet=False"),
    # exact host matching, never substring: look-alike hosts are refused on dev too (no testnet path anywhere)
    ("dev_testnet_lookalike", "ENV=dev\nBINANCE_BASE_URL=https://testnet.evil.example\n", {}, [], 1,
     "BINANCE_BASE_URL=https://testnet.evil.example is a TESTNET address"),
    ("dev_demo_lookalike", "ENV=dev\nDRY_RUN=1\nBINANCE_BASE_URL=https://demo-fapi.attacker.net\n", {}, [], 1,
     "BINANCE_BASE_URL=https://demo-fapi.attacker.net is a TESTNET address"),
    ("dev_other_host", "ENV=dev\nBINANCE_BASE_URL=https://example.com\n", {}, [], 1, "is not the local venue"),
    ("dev_mainnet_lookalike", "ENV=dev\nBINANCE_BASE_URL=https://fapi.binance.com.evil.example\n", {}, [], 1,
     "is not the local venue"),
    ("dev_testnet_real_host", "ENV=dev\nBINANCE_BASE_URL=https://testnet.binancefuture.com\n", {}, [], 1,
     "is a TESTNET address"),
    ("dev_testnet_on_loopback", "ENV=dev\nBINANCE_TESTNET=1\nBINANCE_BASE_URL=http://127.0.0.1:18080\n", {}, [], 1,
     "BINANCE_TESTNET=1: testnet is not allowed"),
    ("allow_live_still_no_testnet", _with(MAINNET, DRY_RUN="0", BINANCE_TESTNET="1"), {}, ["--allow-live"], 1,
     "BINANCE_TESTNET=1: testnet is not allowed"),
]
