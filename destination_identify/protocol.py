"""The Airbyte message with a `destination_catalog`, which the CDK's AirbyteMessage lacks.

The protocol package the CDK depends on (airbyte-protocol-models-dataclasses >= 0.17.1) already
defines `DestinationCatalog`, `DestinationOperation` and the `DESTINATION_CATALOG` message type,
but the CDK redeclares `AirbyteMessage` (for its own state blob) without the field, so its
serializer drops it. `DestinationAirbyteMessage` is the CDK's message plus that one field, and
`serialize_message` dumps it with a serializer built like the CDK's own (serpyco-rs, nulls
omitted, the CDK's custom types); any other message goes through the CDK's serializer.
"""

from dataclasses import dataclass
from typing import Any, Optional

import orjson
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type
from airbyte_cdk.models.airbyte_protocol import (  # type: ignore[attr-defined]  # re-exported protocol classes
    DestinationCatalog,
    DestinationOperation,
    DestinationSyncMode,
)
from airbyte_cdk.models.airbyte_protocol_serializers import custom_type_resolver
from serpyco_rs import Serializer

__all__ = [
    "DestinationAirbyteMessage",
    "DestinationCatalog",
    "DestinationOperation",
    "destination_catalog_message",
    "serialize_message",
]


@dataclass
class DestinationAirbyteMessage(AirbyteMessage):
    destination_catalog: Optional[DestinationCatalog] = None


DestinationAirbyteMessageSerializer: Serializer[DestinationAirbyteMessage] = Serializer(
    DestinationAirbyteMessage, omit_none=True, custom_type_resolver=custom_type_resolver
)


def destination_catalog_message(catalog: dict[str, Any]) -> DestinationAirbyteMessage:
    """`{"operations": [{object_name, sync_mode, json_schema, matching_keys}, ...]}` as a message."""
    operations = [
        DestinationOperation(
            object_name=operation["object_name"],
            sync_mode=DestinationSyncMode(operation["sync_mode"]),
            json_schema=operation["json_schema"],
            matching_keys=operation.get("matching_keys"),
        )
        for operation in catalog["operations"]
    ]
    return DestinationAirbyteMessage(
        type=Type.DESTINATION_CATALOG, destination_catalog=DestinationCatalog(operations=operations)
    )


def serialize_message(message: AirbyteMessage) -> str:
    if isinstance(message, DestinationAirbyteMessage):
        return orjson.dumps(DestinationAirbyteMessageSerializer.dump(message)).decode()
    return orjson.dumps(AirbyteMessageSerializer.dump(message)).decode()
