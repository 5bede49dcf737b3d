"""The configured catalog, reduced to what the write loop needs per stream."""

from dataclasses import dataclass, field
from collections import Counter
from typing import Any, Mapping

from destination_identify.errors import ConfigError
from destination_identify.validation import RecordValidator, SchemaCompileError

SUPPORTED_SYNC_MODES = ("append", "append_dedup")
MAX_DISTINCT_REASONS = 50


@dataclass
class StreamContext:
    """One configured stream: its validator, its user-id fallback and its running counts."""

    key: tuple[str | None, str]
    validator: RecordValidator | None
    user_id_field: str | None
    in_catalog: bool = True
    read: int = 0
    delivered: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    logged_rejections: int = 0

    @property
    def label(self) -> str:
        namespace, name = self.key
        return f"{namespace}.{name}" if namespace else name

    def count_reason(self, reason: str) -> None:
        if reason in self.reasons or len(self.reasons) < MAX_DISTINCT_REASONS:
            self.reasons[reason] += 1
        else:
            self.reasons["(other reasons)"] += 1


def load_streams(catalog: Any, warn) -> dict[tuple[str | None, str], StreamContext]:
    """Stream contexts by (namespace, name); ConfigError for a sync mode we cannot honour."""
    if not isinstance(catalog, Mapping) or not isinstance(catalog.get("streams"), list):
        raise ConfigError("the configured catalog must be an object with a 'streams' list")
    streams = {}
    for configured in catalog["streams"]:
        stream = configured.get("stream") or {}
        name = stream.get("name")
        if not isinstance(name, str):
            raise ConfigError("a configured stream has no name")
        key = (stream.get("namespace") or None, name)
        mode = configured.get("destination_sync_mode", "append")
        if mode not in SUPPORTED_SYNC_MODES:
            raise ConfigError(
                f"stream '{name}' asks for destination sync mode '{mode}'. Identify calls upsert users and "
                f"cannot delete the ones a source no longer has, so only append and append_dedup (both "
                f"upsert) are supported."
            )
        streams[key] = StreamContext(key, _validator(stream, name, warn), _user_id_field(configured))
    return streams


def _validator(stream: Mapping, name: str, warn) -> RecordValidator | None:
    schema = stream.get("json_schema")
    if not isinstance(schema, Mapping) or not schema:
        return None
    try:
        return RecordValidator(schema)
    except SchemaCompileError as error:
        warn(f"stream '{name}': its JSON Schema cannot be compiled ({error}); records are not validated")
        return None


def _user_id_field(configured: Mapping) -> str | None:
    """A single top-level primary-key column stands in for a missing user id."""
    key = configured.get("primary_key") or (configured.get("stream") or {}).get("source_defined_primary_key")
    if isinstance(key, list) and len(key) == 1 and isinstance(key[0], list) and len(key[0]) == 1:
        column = key[0][0]
        return column if isinstance(column, str) else None
    return None
