"""The connector's configuration as typed, checked values (the spec is in spec.json)."""

from dataclasses import dataclass
from typing import Any, Mapping

from destination_identify.errors import ConfigError
from destination_identify.field_mapping import RecordMapper, compile_mapping
from destination_identify.retry import RetryPolicy
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import Vendor, reject_unknown_options

TOP_LEVEL_OPTIONS = frozenset(
    {
        "vendor",
        "flush_interval_seconds",
        "max_concurrent_requests",
        "max_retries",
        "request_timeout_seconds",
        "max_rejected_ratio",
        "retry_wait_initial_seconds",
        "retry_wait_max_seconds",
        "field_mapping",
        "unmapped_fields",
        "exclude_fields",
        "dry_run",
        "dry_run_preview_count",
    }
)
CONNECT_TIMEOUT_SECONDS = 10.0
REJECTED_RATIO_MIN_RECORDS = 100


@dataclass(frozen=True)
class ConnectorConfig:
    vendor: Vendor
    flush_interval_seconds: float
    concurrency: int
    connect_timeout_seconds: float
    read_timeout_seconds: float
    retry: RetryPolicy
    max_rejected_ratio: float
    mapper: RecordMapper  # its `active` says whether any mapping control is set
    dry_run: bool
    dry_run_preview_count: int


def parse_config(raw: Any) -> ConnectorConfig:
    """Check the user's config; ConfigError names the option and what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise ConfigError("the config must be a JSON object")
    reject_unknown_options(raw, TOP_LEVEL_OPTIONS, "the config")
    vendor = vendor_from_config(raw.get("vendor"))
    flush = _number(raw, "flush_interval_seconds", 30, minimum=0.05, maximum=3600)
    read_timeout = _number(raw, "request_timeout_seconds", 60, minimum=0.1, maximum=600)
    concurrency = int(_number(raw, "max_concurrent_requests", vendor.default_concurrency, 1, 32, integer=True))
    if vendor.max_concurrency is not None:
        concurrency = min(concurrency, vendor.max_concurrency)
    dry_run = raw.get("dry_run", False)
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise ConfigError("dry_run must be true or false")
    retry = RetryPolicy(
        attempts=1 + int(_number(raw, "max_retries", 8, 0, 50, integer=True)),
        wait_initial=_number(raw, "retry_wait_initial_seconds", 1, 0, 3600),
        wait_max=_number(raw, "retry_wait_max_seconds", 60, 0, 3600),
    )
    return ConnectorConfig(
        vendor=vendor,
        flush_interval_seconds=flush,
        concurrency=concurrency,
        connect_timeout_seconds=min(CONNECT_TIMEOUT_SECONDS, read_timeout),
        read_timeout_seconds=read_timeout,
        retry=retry,
        max_rejected_ratio=_number(raw, "max_rejected_ratio", 0.1, 0, 1),
        mapper=compile_mapping(vendor, raw.get("field_mapping"), raw.get("exclude_fields"), raw.get("unmapped_fields")),
        dry_run=dry_run,
        dry_run_preview_count=int(_number(raw, "dry_run_preview_count", 5, 0, 1000, integer=True)),
    )


def _number(raw: Mapping, key: str, default: float, minimum: float, maximum: float, integer: bool = False) -> float:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and value != int(value)):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{key} must be {kind}")
    if not minimum <= value <= maximum:
        raise ConfigError(f"{key} must be between {minimum:g} and {maximum:g}")
    return value
