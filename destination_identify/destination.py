"""The Airbyte shell: `spec`, `check` and `write` on top of the CDK's Destination.

`write` bypasses the CDK's message parsing: it reads stdin as bytes (orjson, no pydantic
round-trip that would drop the STATE's `id`), and writes STATEs itself, flushed one by one.
"""

import argparse
import json
import logging
import os
import sys
import traceback
from typing import Any, Iterable, Mapping

from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    Status,
)
from airbyte_cdk.utils.airbyte_secrets_utils import update_secrets

from destination_identify.config import parse_config
from destination_identify.errors import ConfigError, TransientSyncError, VendorProtocolError
from destination_identify.output import Output
from destination_identify.stdin_lines import LineReader
from destination_identify.transport import Transport, TransportFailure

FAILURE_TYPES = {ConfigError: "config_error", TransientSyncError: "transient_error", VendorProtocolError: "system_error"}


class DestinationIdentify(Destination):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Validate the config, then one harmless request that proves the key (never a trace)."""
        try:
            parsed = parse_config(config)
        except ConfigError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"Invalid configuration: {error}")
        vendor = parsed.vendor
        update_secrets([vendor.api_key])
        transport = Transport(
            vendor.base_url, vendor.headers(), parsed.connect_timeout_seconds, parsed.read_timeout_seconds, 1
        )
        try:
            response = transport.send(vendor.check_call())
        except TransportFailure as failure:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(failure))
        finally:
            transport.close()
        result = vendor.read_check(response.status, response.body)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED if result.ok else Status.FAILED, message=result.message)

    def write(
        self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog, input_messages: Iterable[AirbyteMessage]
    ) -> Iterable[AirbyteMessage]:
        raise NotImplementedError("write runs through run_write, which reads stdin itself")

    def run_cmd(self, parsed_args: argparse.Namespace) -> Iterable[AirbyteMessage]:
        if parsed_args.command != "write":
            yield from super().run_cmd(parsed_args)
            return
        exit_code = run_write(parsed_args.config, parsed_args.catalog, sys.stdin.fileno(), Output())
        if exit_code:
            sys.exit(exit_code)


def run_write(config_path: str, catalog_path: str, stdin_fd: int, out: Output) -> int:
    """The whole write command; returns the process exit code. Errors end as one TRACE."""
    from destination_identify.writer import Writer  # only write pays for the pipeline's imports

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
    except (ConfigError, TransientSyncError, VendorProtocolError) as error:
        if writer is not None:
            writer.report_after_failure()
        out.error_trace(str(error), FAILURE_TYPES[type(error)])
        return 1
    except Exception as error:  # a bug of ours: say where, without the message (it may hold values)
        out.error_trace(
            f"destination-identify failed unexpectedly ({type(error).__name__})",
            "system_error",
            internal="".join(traceback.format_tb(error.__traceback__)),
        )
        return 1


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
        update_secrets([key])


