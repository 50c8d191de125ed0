"""The bounded capture of a stream: head and tail, cut exactly at the limit."""

from __future__ import annotations

from scriptdeck.runner.capture import HeadTailBuffer


def test_the_tail_is_cut_inside_its_first_chunk_to_exactly_the_window():
    buffer = HeadTailBuffer(20)  # a 10-byte head, a 10-byte tail
    for piece in (b"0123456789", b"abcdefg", b"hijklm", b"nop"):
        buffer.write(piece)
    assert buffer.tail_bytes() == b"ghijklmnop"
    assert buffer.getvalue() == b"0123456789ghijklmnop"
    assert buffer.dropped == 6
    assert buffer.text() == "0123456789\n...[6 bytes omitted]...\nghijklmnop"


def test_a_character_split_at_the_tail_cut_is_replaced_not_lost():
    buffer = HeadTailBuffer(10)
    buffer.write(b"head!")
    buffer.write("xé".encode())
    buffer.write(b"tail")  # the 5-byte window starts inside "é"
    assert buffer.tail_bytes() == "é".encode()[1:] + b"tail"
    assert buffer.text() == "head!\n...[2 bytes omitted]...\n\ufffdtail"


def test_a_zero_limit_keeps_nothing_and_counts_everything():
    buffer = HeadTailBuffer(0)
    buffer.write(b"abc")
    assert buffer.tail_bytes() == b""
    assert buffer.dropped == 3
    assert buffer.last_lines() == ""
