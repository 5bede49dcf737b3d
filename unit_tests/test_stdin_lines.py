"""LineReader over a real pipe: lines come back whole, however the writes cut them."""

import os
import threading

from destination_identify.stdin_lines import LineReader


def read_everything(pieces: list[bytes], chunk_size: int) -> list[bytes]:
    read_end, write_end = os.pipe()

    def feed() -> None:
        for piece in pieces:
            os.write(write_end, piece)
        os.close(write_end)

    feeder = threading.Thread(target=feed)
    feeder.start()
    reader, lines = LineReader(read_end, chunk_size=chunk_size), []
    while (got := reader.read(timeout=None)) is not None:
        lines.extend(got)
    feeder.join()
    os.close(read_end)
    return lines


def test_a_line_longer_than_many_reads_comes_back_whole():
    long_line = b'{"type":"RECORD","data":"' + b"x" * 300_000 + b'"}'
    text = b"first\n" + long_line + b"\nlast"
    # written in pieces that cut the long line anywhere, read 4 KiB at a time
    pieces = [text[start : start + 7919] for start in range(0, len(text), 7919)]
    assert read_everything(pieces, chunk_size=4096) == [b"first", long_line, b"last"]


def test_a_long_line_starting_mid_read_and_a_last_line_without_newline():
    text = b"a\nb" + b"y" * 50_000 + b"\n" + b"z" * 20_000
    assert read_everything([text], chunk_size=1024) == [b"a", b"b" + b"y" * 50_000, b"z" * 20_000]


def test_blank_lines_come_back_empty_and_a_blank_last_line_is_dropped():
    assert read_everything([b"\n\n  "], chunk_size=1024) == [b"", b""]
