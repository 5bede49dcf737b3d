"""Per-stream reports: each stream counts its own rejection reasons, at most 50 distinct ones."""

from destination_identify.catalog import MAX_DISTINCT_REASONS, StreamContext
from destination_identify.ledger import stream_of_state


def context(name):
    return StreamContext((None, name), None, None)


def test_each_stream_counts_only_its_own_reasons():
    users, contacts = context("users"), context("contacts")
    for _ in range(3):
        users.count_reason("schema: $.seats: expected integer")
    assert users.reasons == {"schema: $.seats: expected integer": 3}
    assert contacts.reasons == {}


def test_past_fifty_distinct_reasons_the_rest_are_counted_together():
    users = context("users")
    for number in range(MAX_DISTINCT_REASONS + 1):
        users.count_reason(f"reason {number}")
    users.count_reason("reason 0")
    assert MAX_DISTINCT_REASONS == 50
    assert len(users.reasons) == 51
    assert users.reasons["(other reasons)"] == 1 and users.reasons["reason 0"] == 2
    assert "reason 50" not in users.reasons


def test_an_empty_namespace_in_a_state_is_no_namespace():
    """As in the catalog and in records: `""` and absent mean the same, so the STATE is matched to
    the stream whose records it covers."""
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users", "namespace": ""}}}
    assert stream_of_state(state) == (None, "users")


def user_id_field_of(properties, primary_key):
    from destination_identify.catalog import load_streams

    stream = {"name": "s", "json_schema": {"type": "object", "properties": properties}}
    catalog = {"streams": [{"stream": stream, "destination_sync_mode": "append", "primary_key": primary_key}]}
    return load_streams(catalog, lambda message: None)[(None, "s")].user_id_field


def test_the_primary_key_stands_in_for_the_user_id_only_where_the_schema_has_no_user_id_column():
    """A subscriptions stream (key `id`, a nullable `user_id`) must never send its own id as a user's."""
    column = {"type": ["null", "string"]}
    assert user_id_field_of({"id": column, "email": column}, [["id"]]) == "id"
    assert user_id_field_of({"id": column, "user_id": column}, [["id"]]) is None
    assert user_id_field_of({"id": column, "UserId": column}, [["id"]]) is None
    assert user_id_field_of({"user_id": column, "email": column}, [["user_id"]]) == "user_id"
    assert user_id_field_of({"id": column}, [["id"], ["email"]]) is None  # a composite key is no user id
