"""StateLedger: STATEs released in order, only when their records are settled, with counts."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from destination_identify.ledger import StateLedger, stream_of_state


def stream_state(name, cursor, namespace=None, **extra):
    descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": descriptor, "stream_state": {"cursor": cursor}},
            **extra,
        },
    }


def global_state(cursor):
    return {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"lsn": cursor}, "stream_states": []}}}


def legacy_state(cursor):
    return {"type": "STATE", "state": {"data": {"cursor": cursor}}}


USERS = (None, "users")
ORGS = (None, "orgs")


def stats(message):
    return message["state"]["destinationStats"]


def cursors(messages):
    return [m["state"]["stream"]["stream_state"]["cursor"] for m in messages]


def test_a_state_waits_for_its_records_then_carries_the_counts():
    ledger = StateLedger()
    epoch = ledger.opened(3)
    ledger.rejected_unopened(USERS)
    ledger.state(stream_state("users", 1))
    assert ledger.releasable() == []
    ledger.delivered(epoch, USERS, 2)
    assert ledger.releasable() == []
    ledger.rejected(epoch, USERS, 1)
    released = ledger.releasable()
    assert cursors(released) == [1]
    assert stats(released[0]) == {"recordCount": 2.0, "rejectedRecordCount": 2.0}
    assert ledger.waiting_states == 0 and ledger.unsettled == 0


def test_records_told_late_in_one_sum_still_hold_their_state():
    """The writer tells the ledger its epoch's count just before the STATE; batches of that
    epoch may have settled already."""
    ledger = StateLedger()
    ledger.delivered(0, USERS, 2)  # settled before the writer told the ledger about them
    ledger.opened(3)
    ledger.state(stream_state("users", 1))
    assert ledger.releasable() == []  # one record is still in flight
    ledger.delivered(0, USERS, 1)
    released = ledger.releasable()
    assert cursors(released) == [1] and stats(released[0])["recordCount"] == 3.0


def test_states_are_released_in_order_when_batches_settle_out_of_order():
    ledger = StateLedger()
    first = ledger.opened(2)
    ledger.state(stream_state("users", "a"))
    second = ledger.opened(2)
    ledger.state(stream_state("users", "b"))
    third = ledger.opened(1)
    ledger.state(stream_state("users", "c"))
    ledger.opened(5)  # records after the last state: nobody waits for them
    assert (first, second, third, ledger.epoch) == (0, 1, 2, 3)

    ledger.delivered(third, USERS, 1)
    ledger.delivered(second, USERS, 2)
    assert ledger.releasable() == []  # epoch 0 still open: nothing may pass it
    ledger.delivered(first, USERS, 1)
    assert ledger.releasable() == []
    ledger.rejected(first, USERS, 1)
    released = ledger.releasable()
    assert cursors(released) == ["a", "b", "c"]
    assert [stats(m) for m in released] == [
        {"recordCount": 1.0, "rejectedRecordCount": 1.0},
        {"recordCount": 2.0, "rejectedRecordCount": 0.0},
        {"recordCount": 1.0, "rejectedRecordCount": 0.0},
    ]
    assert ledger.unsettled == 5


def test_counts_are_per_stream_since_that_streams_previous_state():
    ledger = StateLedger()
    epoch = ledger.opened(5)
    ledger.delivered(epoch, USERS, 3)
    ledger.delivered(epoch, ORGS, 2)
    ledger.state(stream_state("users", 1))
    epoch = ledger.opened(4)
    ledger.delivered(epoch, USERS, 1)
    ledger.delivered(epoch, ORGS, 2)
    ledger.rejected(epoch, ORGS, 1)
    ledger.rejected_unopened(ORGS)
    ledger.state(stream_state("orgs", 1))
    ledger.state(stream_state("users", 2))
    released = ledger.releasable()
    assert [m["state"]["stream"]["stream_descriptor"]["name"] for m in released] == ["users", "orgs", "users"]
    assert [stats(m) for m in released] == [
        {"recordCount": 3.0, "rejectedRecordCount": 0.0},  # users, epoch 0
        {"recordCount": 4.0, "rejectedRecordCount": 2.0},  # orgs, epochs 0 and 1
        {"recordCount": 1.0, "rejectedRecordCount": 0.0},  # users, epoch 1 (epoch 2 empty)
    ]


def test_namespaced_streams_are_distinct():
    ledger = StateLedger()
    epoch = ledger.opened(3)
    ledger.delivered(epoch, ("crm", "users"), 2)
    ledger.delivered(epoch, USERS, 1)
    ledger.state(stream_state("users", 1, namespace="crm"))
    ledger.state(stream_state("users", 1))
    assert [stats(m)["recordCount"] for m in ledger.releasable()] == [2.0, 1.0]


def test_global_and_legacy_states_count_every_stream():
    ledger = StateLedger()
    epoch = ledger.opened(4)
    ledger.delivered(epoch, USERS, 2)
    ledger.delivered(epoch, ORGS, 1)
    ledger.rejected(epoch, ORGS, 1)
    ledger.state(global_state(10))
    epoch = ledger.opened(1)
    ledger.delivered(epoch, ORGS, 1)
    ledger.rejected_unopened(USERS)
    ledger.state(legacy_state(11))
    released = ledger.releasable()
    assert [m["state"].get("type") for m in released] == ["GLOBAL", None]
    assert [stats(m) for m in released] == [
        {"recordCount": 3.0, "rejectedRecordCount": 1.0},
        {"recordCount": 1.0, "rejectedRecordCount": 1.0},
    ]


def test_every_other_field_is_kept_including_id_and_existing_stats():
    message = stream_state("users", "2024-01-01", sourceStats={"recordCount": 7.0}, id=123456)
    message["state"]["destinationStats"] = {"someFutureField": "x", "recordCount": 99.0}
    message["extra_top_level"] = {"k": [1, 2]}
    original = copy.deepcopy(message)
    ledger = StateLedger()
    epoch = ledger.opened(7)
    ledger.delivered(epoch, USERS, 7)
    ledger.state(message)
    (released,) = ledger.releasable()
    expected = copy.deepcopy(original)
    expected["state"]["destinationStats"] = {"someFutureField": "x", "recordCount": 7.0, "rejectedRecordCount": 0.0}
    assert released == expected
    assert released["state"]["id"] == 123456


def test_a_state_with_no_records_is_released_at_once_with_zero_counts():
    ledger = StateLedger()
    ledger.state(stream_state("users", 1))
    (released,) = ledger.releasable()
    assert stats(released) == {"recordCount": 0.0, "rejectedRecordCount": 0.0}


def test_stream_of_state():
    assert stream_of_state(stream_state("users", 1, namespace="crm")["state"]) == ("crm", "users")
    assert stream_of_state(stream_state("users", 1)["state"]) == (None, "users")
    assert stream_of_state(global_state(1)["state"]) is None
    assert stream_of_state(legacy_state(1)["state"]) is None
    for stream in (1, "users", {}, {"stream_descriptor": []}, {"stream_descriptor": {"name": 5}}):
        with pytest.raises(ValueError, match="without a stream_descriptor naming its stream"):
            stream_of_state({"type": "STREAM", "stream": stream})
    with pytest.raises(ValueError, match="namespace is not a string"):
        stream_of_state({"type": "STREAM", "stream": {"stream_descriptor": {"name": "u", "namespace": 1}}})


# ---- a property: any input, any settlement order -------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.sampled_from(["users", "orgs"]), st.booleans()),
        st.tuples(st.just("state"), st.sampled_from(["users", "orgs", "GLOBAL"]), st.just(False)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(OPS, st.randoms(use_true_random=False))
def test_states_are_released_in_order_only_after_earlier_records_with_exact_counts(ops, draw):
    ledger = StateLedger()
    records = []  # (input index, epoch, stream, delivered?)
    states = []  # (input index, message)
    for index, (kind, name, delivered) in enumerate(ops):
        if kind == "record":
            records.append((index, ledger.opened(), (None, name), delivered))
        else:
            message = global_state(index) if name == "GLOBAL" else stream_state(name, index)
            states.append((index, message))
            ledger.state(message)

    settled = set()
    released = list(ledger.releasable())
    released_at = {id(m): set() for m in released}
    order = list(records)
    draw.shuffle(order)
    for index, epoch, stream, delivered in order:
        (ledger.delivered if delivered else ledger.rejected)(epoch, stream)
        settled.add(index)
        for message in ledger.releasable():
            released_at[id(message)] = set(settled)
            released.append(message)

    # Every STATE released, in input order, each after every record that preceded it.
    assert [id(m) for m in released] == [id(m) for _, m in states]
    for state_index, message in states:
        before = {index for index, *_ in records if index < state_index}
        assert before <= released_at[id(message)]

    # Counts: records of the stream (any stream for GLOBAL) since the previous STATE covering it.
    last_cover = {"users": -1, "orgs": -1}
    for state_index, message in states:
        name = message["state"].get("stream", {}).get("stream_descriptor", {}).get("name")
        covered = [name] if name else ["users", "orgs"]
        window = [r for r in records if r[2][1] in covered and last_cover[r[2][1]] < r[0] < state_index]
        assert message["state"]["destinationStats"] == {
            "recordCount": float(sum(1 for r in window if r[3])),
            "rejectedRecordCount": float(sum(1 for r in window if not r[3])),
        }
        for stream in covered:
            last_cover[stream] = state_index
