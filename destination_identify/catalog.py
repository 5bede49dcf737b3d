"""The configured catalog, reduced to what the write loop needs per stream."""

from dataclasses import dataclass, field
from collections import Counter
from typing import Any, Callable, Mapping

from destination_identify.errors import ConfigError
from destination_identify.fields import names_user_id, tables_for
from destination_identify.ledger import stream_key
from destination_identify.operations import resolve_stream, vendor_operations
from destination_identify.validation import RecordValidator, SchemaCompileError

SUPPORTED_SYNC_MODES = ("append", "append_dedup")
# Airbyte's "Clear data" (a reset) sends its streams as overwrite, with no records and STATEs
# to echo (airbyte-platform CatalogTransforms.updateCatalogForReset): accepted, and refused only
# when a record of such a stream arrives.
RECORDLESS_SYNC_MODES = ("overwrite",)
MAX_DISTINCT_REASONS = 50
USER_ID_ALIASES, _ = tables_for(frozenset({"user_id"}))


@dataclass(slots=True)  # slots: the write loop reads and counts on it for every record
class StreamContext:
    """One configured stream: its validator, its user-id fallback and its running counts."""

    key: tuple[str | None, str]
    validator: RecordValidator | None
    user_id_field: str | None
    # Why its records are not taken (None: they are): each is rejected with this reason, or,
    # with `refusal_stops_sync`, the first one stops the sync (a sync mode we cannot honour).
    refusal: str | None = None
    refusal_stops_sync: bool = False
    read: int = 0
    delivered: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    logged_rejections: int = 0
    # Data activation: the destination object the stream writes (operations.Operation), its
    # matching key (the stream's primary key), and the per-stream mapping the writer uses.
    operation: Any = None
    matching_key: str | None = None
    map: Callable | None = None

    @property
    def label(self) -> str:
        namespace, name = self.key
        return f"{namespace}.{name}" if namespace else name

    def count_reason(self, reason: str) -> None:
        if reason in self.reasons or len(self.reasons) < MAX_DISTINCT_REASONS:
            self.reasons[reason] += 1
        else:
            self.reasons["(other reasons)"] += 1


def load_streams(catalog: Any, warn, vendor: Any = None) -> dict[tuple[str | None, str], StreamContext]:
    """Stream contexts by (namespace, name); ConfigError for a sync mode we cannot honour, and for
    a `destination_object_name` or matching key (`primary_key`) the vendor's objects lack."""
    if not isinstance(catalog, Mapping) or not isinstance(catalog.get("streams"), list):
        raise ConfigError("the configured catalog must be an object with a 'streams' list")
    streams = {}
    operations = None
    for number, configured in enumerate(catalog["streams"]):
        stream = configured.get("stream") if isinstance(configured, Mapping) else None
        if not isinstance(stream, Mapping):
            raise ConfigError(f"the configured catalog's stream {number + 1} has no 'stream' object")
        name = stream.get("name")
        if not isinstance(name, str):
            raise ConfigError("a configured stream has no name")
        try:
            key = stream_key(stream.get("namespace"), name)
        except ValueError:
            raise ConfigError(f"stream '{name}' has a namespace that is not a string") from None
        mode = configured.get("destination_sync_mode", "append")
        if mode not in SUPPORTED_SYNC_MODES and mode not in RECORDLESS_SYNC_MODES:
            raise ConfigError(unsupported_mode(name, mode))
        if configured.get("destination_object_name") is not None:  # data activation
            if operations is None:
                operations = vendor_operations(vendor) if vendor is not None else {}
            title = vendor.title if vendor is not None else "this destination"
            operation, matching_key = resolve_stream(operations, configured, name, title)
            # the matching key, not a primary-key column, identifies the user: no user-id fallback
            context = StreamContext(
                key, _validator(stream, name, warn), None, operation=operation, matching_key=matching_key
            )
        else:
            context = StreamContext(key, _validator(stream, name, warn), _user_id_field(configured))
        if mode in RECORDLESS_SYNC_MODES:
            context.refusal, context.refusal_stops_sync = unsupported_mode(name, mode), True
            warn(
                f"stream '{name}' is configured as {mode}: accepted for Airbyte's Clear data, which sends no "
                f"records; a record of it stops the sync (identify calls cannot delete users)"
            )
        streams[key] = context
    return streams


def unsupported_mode(name: str, mode: str) -> str:
    return (
        f"stream '{name}' asks for destination sync mode '{mode}'. Identify calls upsert users and cannot "
        f"delete the ones a source no longer has, so only append and append_dedup (both upsert) are "
        f"supported; Clear data (overwrite without records) is accepted."
    )


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
    """A single top-level primary-key column stands in for a missing user id, in streams whose
    schema has no user id column of its own (records that carry one are checked per layout:
    fields.names_user_id)."""
    stream = configured.get("stream") or {}
    key = configured.get("primary_key") or stream.get("source_defined_primary_key")
    if isinstance(key, list) and len(key) == 1 and isinstance(key[0], list) and len(key[0]) == 1:
        column = key[0][0]
        if not isinstance(column, str):
            return None
        schema = stream.get("json_schema")
        properties = schema.get("properties") if isinstance(schema, Mapping) else None
        if isinstance(properties, Mapping) and names_user_id(USER_ID_ALIASES, tuple(name for name in properties if name != column)):
            return None
        return column
    return None
