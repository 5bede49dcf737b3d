"""BatchBuilder: batches never exceed the record count or the serialized body size."""

import random

import pytest

from destination_identify.batching import BatchBuilder, PackedItems
from destination_identify.delivery import join_body
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import BatchLimits


def builder_for(vendor, limits=None):
    return BatchBuilder(limits or vendor.limits, vendor.body_prefix, vendor.body_separator, vendor.body_suffix)


def fill(builder, items):
    """All batches the builder produces for `items`, the partial last one included."""
    batches = []
    builder.start_run("s", 0)
    for position, item in enumerate(items):
        closed = builder.add(item, position, now=float(position))
        if closed is not None:
            batches.append(closed)
    last = builder.take()
    if last is not None:
        batches.append(last)
    return batches


def test_closes_a_batch_as_soon_as_it_holds_max_records():
    builder = BatchBuilder(BatchLimits(max_records=3, max_bytes=10_000), b"[", b",", b"]")
    builder.start_run("s", 0)
    closed = [builder.add(b"{}", n, now=n) for n in range(7)]
    assert [batch is not None for batch in closed] == [False, False, True, False, False, True, False]
    assert closed[2].items == [b"{}"] * 3
    assert closed[2].refs == [("s", 0, 0), ("s", 1, 0), ("s", 2, 0)]
    assert closed[2].opened_at == 0
    assert builder.take().refs == [("s", 6, 0)]
    assert builder.take() is None


def test_byte_cap_counts_prefix_suffix_and_separators_exactly():
    # '{"users":[' + 3 items of 10 bytes + 2 commas + ']}' = 10 + 30 + 2 + 2 = 44 bytes.
    vendor = vendor_from_config({"vendor": "userpilot", "api_key": "k"})
    item = b'{"u":"12"}'
    assert len(item) == 10
    exact = fill(builder_for(vendor, BatchLimits(max_records=100, max_bytes=44)), [item] * 6)
    assert [len(batch.items) for batch in exact] == [3, 3]
    assert [len(join_body(vendor, batch.items)) for batch in exact] == [44, 44]
    assert [batch.body_bytes for batch in exact] == [44, 44]
    one_short = fill(builder_for(vendor, BatchLimits(max_records=100, max_bytes=43)), [item] * 6)
    assert [len(batch.items) for batch in one_short] == [2, 2, 2]


@pytest.mark.parametrize("vendor_name", ["thrivestack", "crowdpower", "zaius", "userpilot"])
def test_random_items_never_exceed_either_cap(vendor_name):
    vendor = vendor_from_config({"vendor": vendor_name, "api_key": "k"})
    limits = BatchLimits(max_records=37, max_bytes=2_000)
    draw = random.Random(vendor_name)
    items = [b"x" * draw.randint(1, 400) for _ in range(1_500)]
    batches = fill(builder_for(vendor, limits), items)
    assert [item for batch in batches for item in batch.items] == items  # nothing lost, order kept
    assert [ref[1] for batch in batches for ref in batch.refs] == list(range(len(items)))
    for batch in batches:
        assert 1 <= len(batch.items) <= limits.max_records
        body = join_body(vendor, batch.items)
        assert len(body) <= limits.max_bytes
        assert batch.body_bytes == len(body)
    # Each batch was closed only because the next item would not fit.
    for batch, following in zip(batches, batches[1:]):
        grown = len(join_body(vendor, list(batch.items) + [following.items[0]]))
        assert len(batch.items) == limits.max_records or grown > limits.max_bytes


def test_the_largest_item_leaves_room_for_prefix_and_suffix():
    vendor = vendor_from_config({"vendor": "crowdpower", "api_key": "k"})  # '{"customers":[' + ']}' = 16 bytes
    builder = builder_for(vendor, BatchLimits(max_records=10, max_bytes=100))
    assert builder.max_item_bytes == 84
    batches = fill(builder, [b"x" * 84, b"y"])
    assert [len(join_body(vendor, batch.items)) for batch in batches] == [100, 17]


def test_realtime_userpilot_sends_one_user_per_request():
    vendor = vendor_from_config({"vendor": "userpilot", "api_key": "k", "mode": "realtime"})
    batches = fill(builder_for(vendor), [b'{"user_id":"a"}', b'{"user_id":"b"}'])
    assert [join_body(vendor, batch.items) for batch in batches] == [b'{"user_id":"a"}', b'{"user_id":"b"}']


def test_take_returns_the_partial_batch_and_starts_a_fresh_one():
    builder = BatchBuilder(BatchLimits(max_records=5, max_bytes=1_000), b"[", b",", b"]")
    assert builder.take() is None
    builder.start_run("s", 0)
    builder.add(b"1", 1, now=10.0)
    builder.start_run("s", 1)
    builder.add(b"22", 2, now=11.0)
    batch = builder.take()
    assert (batch.items, batch.refs, batch.body_bytes, batch.opened_at) == ([b"1", b"22"], [("s", 1, 0), ("s", 2, 1)], 6, 10.0)
    assert builder.current.items == [] and builder.current.body_bytes == 2
    builder.add(b"3", 3, now=20.0)
    assert builder.take().opened_at == 20.0


def test_packed_items_read_back_exactly_and_join_without_copies_of_each_item():
    items = PackedItems(b",", [b'{"a":1}', b"[]", b'"x"'])
    assert len(items) == 3
    assert [items[0], items[1], items[2], items[-1]] == [b'{"a":1}', b"[]", b'"x"', b'"x"']
    assert items[1:] == [b"[]", b'"x"']
    assert bytes(items.buffer) == b'{"a":1},[],"x"'


def test_runs_group_consecutive_items_of_one_stream_and_epoch():
    builder = BatchBuilder(BatchLimits(max_records=10, max_bytes=1_000), b"[", b",", b"]")
    users, orders = object(), object()
    builder.start_run(orders, 0)  # no item of this run: replaced by the next one
    for stream, position, epoch in [(users, 1, 0), (users, 2, 0), (orders, 1, 0), (users, 3, 1), (users, 5, 1)]:
        if builder.run != (stream, epoch):
            builder.start_run(stream, epoch)
        builder.add(b"{}", position, now=0.0)
    batch = builder.take()
    assert batch.run_counts() == [(users, 0, 2), (orders, 0, 1), (users, 1, 2)]
    assert batch.refs == [(users, 1, 0), (users, 2, 0), (orders, 1, 0), (users, 3, 1), (users, 5, 1)]


def test_a_run_continues_into_the_next_batch():
    builder = BatchBuilder(BatchLimits(max_records=2, max_bytes=1_000), b"[", b",", b"]")
    builder.start_run("s", 3)
    closed = [builder.add(b"{}", n, now=0.0) for n in range(3)]
    assert closed[1].run_counts() == [("s", 3, 2)]
    assert builder.take().run_counts() == [("s", 3, 1)]
