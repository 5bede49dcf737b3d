"""The Airbyte shell: `spec`, `check`, `discover` and `write` on top of the CDK's Destination.

`write` bypasses the CDK's message parsing: it reads stdin as bytes (orjson, no pydantic
round-trip that would drop the STATE's `id`), and writes STATEs itself, flushed one by one.

`discover` (data activation, Airbyte 1.8+) is not a CDK destination command: it is added to the
CDK's argument parsing and command dispatch here, answers one DESTINATION_CATALOG message (see
protocol.py for the message class the CDK lacks, operations.py for what it holds), and reports a
bad config as a config_error TRACE, as the CDK's entrypoint does for a source's discover.
"""

import argparse
import logging
import sys
from typing import Any, Iterable, Mapping

from airbyte_cdk.destinations import Destination
from airbyte_cdk.destinations.destination import logger as cdk_logger
from airbyte_cdk.exception_handler import init_uncaught_exception_handler
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets, get_secrets, update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
import orjson
from jsonschema import Draft7Validator

from destination_identify.config import parse_config
from destination_identify.errors import ConfigError
from destination_identify.operations import destination_catalog
from destination_identify.output import Output
from destination_identify.protocol import destination_catalog_message, serialize_message
from destination_identify.write_command import run_write
from destination_identify.transport import Transport, TransportFailure


class DestinationIdentify(Destination):
    VALID_CMDS = Destination.VALID_CMDS | {"discover"}
    _printed_secrets: tuple[str, ...] = ()  # the config's secrets, set on the instance once read

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Validate the config, then one harmless request that proves the key (never a trace)."""
        try:
            parsed = parse_config(config)
        except ConfigError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"Invalid configuration: {error}")
        vendor = parsed.vendor
        add_to_secrets(vendor.api_key)  # stripped: the spec's secret as written is registered already
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

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> dict:
        """The destination catalog (`{"operations": [...]}`) of the configured vendor."""
        try:
            parsed = parse_config(config)
        except ConfigError as error:
            raise AirbyteTracedException(
                message=f"Invalid configuration: {error}",
                internal_message=str(error),
                failure_type=FailureType.config_error,
            ) from None
        return destination_catalog(parsed.vendor)

    def parse_args(self, args: list[str]) -> argparse.Namespace:
        """The CDK's commands, plus `discover --config CONFIG`."""
        if args[:1] != ["discover"]:
            return super().parse_args(args)
        parser = argparse.ArgumentParser(prog="destination-identify discover")
        required = parser.add_argument_group("required named arguments")
        required.add_argument("--config", type=str, required=True, help="path to the json configuration file")
        parsed_args = parser.parse_args(args[1:])
        parsed_args.command = "discover"
        return parsed_args

    def run(self, args: list[str]) -> None:
        """The CDK's run, with a serializer that knows the DESTINATION_CATALOG message, and the
        config's secrets masked in what it prints (a vendor may echo the key in a check)."""
        init_uncaught_exception_handler(cdk_logger)
        parsed_args = self.parse_args(args)
        for message in self.run_cmd(parsed_args):
            print(mask_secrets(serialize_message(message), self._printed_secrets))

    def _read_checked_config(self, config_path: str) -> Mapping[str, Any]:
        """The config, its secrets registered; a config_error for one that is not valid, in words
        that never quote its values (the CDK's spec check quotes the whole vendor object, so a
        misspelled `api_key` would print the key)."""
        spec = self.spec(cdk_logger)
        config = self.read_config(config_path=config_path)
        secrets = get_secrets(spec.connectionSpecification, config)
        update_secrets(secrets)
        self._printed_secrets = tuple(str(secret) for secret in secrets) + tuple(str(secret).strip() for secret in secrets)
        problem = config_problem(config, spec.connectionSpecification)
        if problem is not None:
            raise AirbyteTracedException(message=problem, internal_message=problem, failure_type=FailureType.config_error)
        return config

    def _run_discover(self, config_path: str) -> Iterable[AirbyteMessage]:
        config = self._read_checked_config(config_path)
        yield destination_catalog_message(self.discover(cdk_logger, config))

    def _run_check_command(self, config_path: str) -> Iterable[AirbyteMessage]:
        try:
            config = self._read_checked_config(config_path)
        except AirbyteTracedException as problem:
            yield AirbyteMessage(
                type=Type.CONNECTION_STATUS,
                connectionStatus=AirbyteConnectionStatus(status=Status.FAILED, message=problem.message),
            )
            return
        yield self._run_check(config=config)

    def run_cmd(self, parsed_args: argparse.Namespace) -> Iterable[AirbyteMessage]:
        if parsed_args.command == "discover":
            yield from self._run_discover(parsed_args.config)
            return
        if parsed_args.command == "check":
            yield from self._run_check_command(parsed_args.config)
            return
        if parsed_args.command != "write":
            yield from super().run_cmd(parsed_args)
            return
        exit_code = run_write(parsed_args.config, parsed_args.catalog, sys.stdin.fileno(), Output())
        if exit_code:
            sys.exit(exit_code)


MIN_MASKED_SECRET = 4  # a shorter "secret" is no real key, and masking it would mangle the JSON


def mask_secrets(line: str, secrets: Iterable[str]) -> str:
    """A printed protocol line with each secret masked, as written or JSON-escaped (a key with a
    quote or backslash is escaped in the line). Longest first, so no part of one survives."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_MASKED_SECRET:
            for form in {secret, orjson.dumps(secret).decode()[1:-1]}:
                line = line.replace(form, "****")
    return line


def config_problem(config: Mapping[str, Any], specification: Mapping[str, Any]) -> str | None:
    """Why the config is not valid, or None. Our own parsing first (it names a misspelled option
    and suggests the right one); then the spec, reported by place and rule, never by value."""
    try:
        parse_config(config)
    except ConfigError as error:
        return f"Invalid configuration: {error}"
    error = next(iter(sorted(Draft7Validator(specification).iter_errors(config), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = ".".join(str(part) for part in error.path) or "the config"
    return f"Invalid configuration: {where} does not satisfy the spec's '{error.validator}' rule"
