"""The `write` command without the CDK: reading stdin as bytes, writing STATEs ourselves.

Importing airbyte-cdk costs about two seconds and 40 MiB; `write` needs none of it, so the
console script dispatches here directly (see run.py). Errors end as one Airbyte TRACE message.
"""

import argparse
import json
import sys
import traceback
from typing import Any

from destination_identify.config import parse_config
from destination_identify.errors import ConfigError, SyncError
from destination_identify.malloc_tuning import keep_bodies_on_heap
from destination_identify.output import Output
from destination_identify.stdin_lines import LineReader


def main(argv: list[str]) -> int:
    """`write --config CONFIG --catalog CATALOG`, as the CDK's argument parser defines it."""
    parser = argparse.ArgumentParser(prog="destination-identify write")
    parser.add_argument("--config", required=True, help="path to the JSON configuration file")
    parser.add_argument("--catalog", required=True, help="path to the configured catalog JSON file")
    arguments = parser.parse_args(argv)
    return run_write(arguments.config, arguments.catalog, sys.stdin.fileno(), Output())


def run_write(config_path: str, catalog_path: str, stdin_fd: int, out: Output) -> int:
    """The whole write command; returns the process exit code. Errors end as one TRACE."""
    from destination_identify.writer import Writer

    keep_bodies_on_heap()
    writer = None
    try:
        raw_config = _read_json(config_path, "config")
        _register_secrets(raw_config, out)
        config = parse_config(raw_config)
        catalog = _read_json(catalog_path, "catalog")
        writer = Writer(config, catalog, out)
        writer.run(LineReader(stdin_fd))
        out.flush()
        return 0
    except SyncError as error:
        if writer is not None:
            writer.report_after_failure()
        out.error_trace(str(error), error.failure_type)
        return 1
    except Exception as error:  # a bug of ours: say where, without the message (it may hold values)
        out.error_trace(
            f"destination-identify failed unexpectedly ({type(error).__name__})",
            "system_error",
            internal="".join(traceback.format_tb(error.__traceback__)),
        )
        return 1
    finally:
        out.close()  # sender threads may outlive us: nothing of theirs is written after this


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read the {what} file: {error.strerror}") from None
    except ValueError:
        raise ConfigError(f"the {what} file is not valid JSON") from None


def _register_secrets(raw_config: Any, out: Output) -> None:
    """Mask the API key everywhere before anything can print it."""
    vendor = raw_config.get("vendor") if isinstance(raw_config, dict) else None
    key = vendor.get("api_key") if isinstance(vendor, dict) else None
    if isinstance(key, str) and key:
        out.add_secret(key)
        out.add_secret(key.strip())


