"""Which stream a line that is not JSON belongs to, read from its raw bytes."""

from destination_identify.writer import stream_named_in


def test_a_record_cut_short_names_its_stream_and_namespace():
    line = b'{"type":"RECORD","record":{"namespace":"crm","stream":"users","data":{"email":"a@b'
    assert stream_named_in(line) == ("crm", "users")


def test_fields_of_the_data_name_nothing_and_escapes_are_read():
    line = b'{"type": "RECORD", "record": {"stream": "us\\"ers", "data": {"stream": "x", "namespace": "y", "a": "\xe9"}}}'
    assert stream_named_in(line) == (None, 'us"ers')
    line = b'{"type":"RECORD","record":{"data":{"stream":"x","a":"\xe9"},"stream":"users"}}'
    assert stream_named_in(line) is None  # written after its data: not told apart from the data's fields
    assert stream_named_in(b'{"type":"RECORD","record":{"stream":"users","data":{"a":1') == (None, "users")


def test_lines_that_name_no_record_stream_are_none():
    assert stream_named_in(b'{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor"') is None
    assert stream_named_in(b'{not json at all') is None
    assert stream_named_in(b'{"type":"RECORD","record":{"data":{}') is None
    assert stream_named_in(b'{"type":"RECORD","record":{"stream":"\xe9"') is None  # not UTF-8: not ours


def test_a_stream_called_data_and_a_cut_state_holding_record_like_text():
    assert stream_named_in(b'{"type":"RECORD","record":{"namespace":"data","stream":"users","data":{"x":1') == ("data", "users")
    assert stream_named_in(b'{"type":"RECORD","record":{"stream":"data","data":{"x":1') == (None, "data")
    cut_state = b'{"type":"STATE","state":{"type":"STREAM","stream":{"stream_state":{"type":"RECORD","stream":"users"'
    assert stream_named_in(cut_state) is None
