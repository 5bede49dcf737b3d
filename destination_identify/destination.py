"""The Airbyte shell: `spec`, `check` and `write` on top of the CDK's Destination.

`write` bypasses the CDK's message parsing: it reads stdin as bytes (orjson, no pydantic
round-trip that would drop the STATE's `id`), and writes STATEs itself, flushed one by one.
"""

import argparse
import logging
import sys
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
from destination_identify.errors import ConfigError
from destination_identify.output import Output
from destination_identify.write_command import run_write
from destination_identify.transport import Transport, TransportFailure

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
