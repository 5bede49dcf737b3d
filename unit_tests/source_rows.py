"""Rows as real Airbyte sources send them, shared by the vendor tests and the CLI tests."""

# source-hubspot: a `properties` object beside its flattened `properties_*` columns
HUBSPOT = {
    "id": "151",
    "properties": {"email": "m@x.es", "firstname": "Marta", "createdate": "2024-01-15T10:30:00.000Z", "num_notes": 3},
    "properties_email": "m@x.es",
    "properties_firstname": "Marta",
    "properties_createdate": "2024-01-15T10:30:00.000Z",
    "properties_num_notes": 3,
}
