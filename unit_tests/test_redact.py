"""Vendor text is masked before it is logged: emails and long numbers by pattern, the values we
sent by value, and a raw body is masked before it is cut."""

import io

import orjson

from destination_identify.destination import mask_secrets
from destination_identify.output import Output
from destination_identify.redact import mask_emails, redact_vendor_text, scrub_sent_values
from destination_identify.vendors.base import vendor_message


def test_patterns_mask_emails_and_phone_like_numbers():
    assert redact_vendor_text("bad <ada@example.com> and +1 (555) 000-0001") == "bad <<email>> and <number>"
    assert redact_vendor_text("phone 555-1234 refused") == "phone <number> refused"  # a local number too
    # the local part takes in the path before it: more is masked, never less
    assert mask_emails("$.contacts.ada.lovelace@example.com: expected integer") == "<email>: expected integer"


def test_sent_values_are_masked_as_whole_words_only():
    item = orjson.dumps({"traits": {"name": "Ada Lovelace", "plan": "pro", "tags": ["vip", "beta"], "country": "US"}, "n": 5})
    text = "Ada Lovelace on plan pro (problem: vip) in US, row 5"
    assert scrub_sent_values(text, [item]) == "<value> on plan <value> (problem: <value>) in US, row 5"


def test_a_raw_body_is_masked_before_it_is_cut():
    at_the_300th_byte = b"<html>" + b"x" * 280 + b" ada.lovelace@example.com and more"  # "@" is byte 299
    message = vendor_message(at_the_300th_byte)
    assert " <email> and" in message and "ada" not in message
    past_the_read = b"<html>" + b"x" * 4080 + b" ada.lovelace@example.com and more"
    assert "@" not in vendor_message(past_the_read)
    no_space = b"<html>" + b"A" * 5000
    assert vendor_message(no_space) == "<html>" + "A" * 293 + "…"
    assert vendor_message(b"<html>Bad gateway for ada@example.com</html>") == "<html>Bad gateway for <email></html>"


def test_printed_lines_mask_secrets_as_written_and_json_escaped_and_leave_short_ones():
    line = '{"message":"bad key sk_a\\"b\\\\c and sk_abc and t"}'
    assert mask_secrets(line, ['sk_a"b\\c', "sk_abc", "t"]) == '{"message":"bad key **** and **** and t"}'
    assert mask_secrets(line, ["sk_abc", "sk_abc "]) == '{"message":"bad key sk_a\\"b\\\\c and ****and t"}'  # as written first


def test_sent_values_are_masked_after_the_vendor_text_is_tidied_and_cut():
    item = orjson.dumps({"address": "12 Analytical Row\nLondon  NW1", "name": "Augusta Ada King, Countess of Lovelace"})
    tidied = redact_vendor_text("bad address=12 Analytical Row\nLondon  NW1 for " + "x" * 235 + " name=Augusta Ada King, Countess")
    assert tidied.endswith("name=Augusta Ada K…")
    scrubbed = scrub_sent_values(tidied, [item])
    assert scrubbed.startswith("bad address=<value> for ") and scrubbed.endswith(" name=<value>…")
    assert "Augusta" not in scrubbed and "London" not in scrubbed


def test_an_error_trace_masks_secrets_in_its_message_and_its_internal_message():
    stream = io.BytesIO()
    Output(stream, secrets=["s3cr3tKey"]).error_trace("bad s3cr3tKey", "system_error", "at x: s3cr3tKey")
    error = orjson.loads(stream.getvalue())["trace"]["error"]
    assert error == {"message": "bad ****", "failure_type": "system_error", "internal_message": "at x: ****"}
