"""`python -m settings check [--config-dir config] [--env-file .env]`: validate config and exit non-zero on error."""
import argparse
import sys

from settings.loader import CONFIG_FILES, load_or_exit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m settings", description=__doc__)
    parser.add_argument("command", choices=["check"], help="check: validate every config file and .env")
    parser.add_argument("--config-dir", default="config")
    parser.add_argument("--env-file", default=".env")
    args = parser.parse_args(argv)
    cfg, env = load_or_exit(args.config_dir, args.env_file)
    print(f"[config] OK: {len(CONFIG_FILES)} files in {args.config_dir}/ valid; "
          f"{len(cfg.pairs.symbols)} symbols; ENV={env.ENV} DRY_RUN={env.DRY_RUN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
