"""Masking: secrets in text, in JSON-escaped form, in values, and split across output chunks."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from scriptdeck.security.masking import MASK, MIN_SECRET_LENGTH, Masker


def feed_all(masker: Masker, chunks: list[str]) -> str:
    stream = masker.stream()
    return "".join(stream.feed(chunk) for chunk in chunks) + stream.flush()


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)]


def test_it_masks_every_occurrence():
    masker = Masker(["hunter22"])

    assert masker.mask("login hunter22, again hunter22.") == f"login {MASK}, again {MASK}."


def test_it_masks_the_longest_secret_first():
    masker = Masker(["abc", "abcdef"])

    assert masker.mask("xabcdefx abcx") == f"x{MASK}x {MASK}x"


def test_it_masks_a_secret_printed_inside_json():
    secret = 'pa"ss\\wörd'
    masker = Masker([secret])

    assert secret not in masker.mask(secret)
    for printed in (json.dumps({"p": secret}), json.dumps({"p": secret}, ensure_ascii=False)):
        assert masker.mask(printed) == f'{{"p": "{MASK}"}}'


def test_it_ignores_secrets_too_short_to_mask():
    masker = Masker(["", "1", "no"])

    assert MIN_SECRET_LENGTH == 3
    assert not masker
    assert masker.mask("1 no 12") == "1 no 12"


def test_it_is_true_when_there_is_something_to_mask():
    assert Masker(["abc"])
    assert not Masker([])


def test_it_masks_values_deeply_keys_included():
    masker = Masker(["hunter22", "123456"])
    result = {"hunter22": ["token hunter22", {"pin": 123456, "n": 7}], "ok": (True, None, 1.5)}

    masked = masker.mask_value(result)

    assert masked == {MASK: [f"token {MASK}", {"pin": MASK, "n": 7}], "ok": (True, None, 1.5)}
    assert result["hunter22"][0] == "token hunter22"


def test_it_returns_values_as_they_are_when_nothing_is_secret():
    value = {"a": [1, "b"]}

    assert Masker([]).mask_value(value) == value


def test_it_masks_a_secret_split_across_chunks():
    masker = Masker(["hunter22"])

    assert feed_all(masker, ["pass: hun", "ter", "22\n", "done"]) == f"pass: {MASK}\ndone"


def test_it_holds_back_only_what_could_be_a_secret():
    stream = Masker(["hunter22"]).stream()

    assert stream.feed("0123456789") == "0123456789"
    assert stream.feed("say hun") == "say "
    assert stream.feed("ter") == ""
    assert stream.feed("22 and more text") == f"{MASK} and more text"
    assert stream.feed("hunt") == ""
    assert stream.feed("ed") == "hunted"
    assert stream.feed("hhunter") == "h"
    assert stream.flush() == "hunter"
    assert stream.flush() == ""


def test_it_streams_text_unchanged_when_nothing_is_secret():
    stream = Masker([]).stream()

    assert stream.feed("abc") == "abc"
    assert stream.flush() == ""


def test_it_waits_for_a_longer_secret_before_masking_a_shorter_one():
    masker = Masker(["abc", "abcdef"])

    assert feed_all(masker, ["xabc", "def", "y"]) == f"x{MASK}y"
    assert feed_all(masker, ["xabc", "dex"]) == f"x{MASK}dex"


def test_it_masks_ten_megabytes_in_one_pass():
    secrets = ["hunter22", "s3cr3t-token", "p@ssw0rd", "AKIAEXAMPLE", "ключ-доступа"]
    masker = Masker(secrets)
    line = "an ordinary line of output with numbers 1234567890 and words\n"
    text = (line * 50 + " ".join(secrets) + "\n") * (10_000_000 // (len(line) * 50))

    started = time.perf_counter()
    masked = masker.mask(text)
    streamed = feed_all(masker, [text[i : i + 65536] for i in range(0, len(text), 65536)])
    elapsed = time.perf_counter() - started

    assert streamed == masked
    assert not any(secret in masked for secret in secrets)
    assert masked.count(MASK) == 5 * text.count("hunter22")
    assert elapsed < 20  # linear takes well under a second or two; quadratic would take hours


ALPHABET = 'ab"\\é•x'
secrets_strategy = st.lists(st.text(ALPHABET, min_size=1, max_size=6), max_size=4)


@st.composite
def texts_with_secrets(draw: st.DrawFn) -> tuple[list[str], str]:
    secrets = draw(secrets_strategy)
    pieces = draw(
        st.lists(
            st.one_of(st.text(ALPHABET, max_size=8), st.sampled_from(secrets or [""])),
            max_size=12,
        )
    )
    return secrets, "".join(pieces)


@settings(max_examples=400, deadline=None)
@given(texts_with_secrets(), st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_it_streams_exactly_what_it_would_mask_whole(case, cuts):
    secrets, text = case
    masker = Masker(secrets)

    assert feed_all(masker, split(text, cuts)) == masker.mask(text)


@settings(max_examples=200, deadline=None)
@given(texts_with_secrets(), st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_it_streams_json_escaped_secrets_exactly_as_whole(case, cuts):
    secrets, text = case
    masker = Masker(secrets)
    printed = json.dumps({"out": text}, ensure_ascii=True)

    assert feed_all(masker, split(printed, cuts)) == masker.mask(printed)


@settings(max_examples=300, deadline=None)
@given(texts_with_secrets())
def test_it_leaves_no_whole_secret_in_masked_text(case):
    secrets, text = case
    kept = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH and "•" not in s]

    masked = Masker(secrets).mask(text)

    assert not any(secret in masked for secret in kept)


@settings(max_examples=200, deadline=None)
@given(texts_with_secrets(), st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_it_never_holds_back_more_than_a_secret_could_need(case, cuts):
    secrets, text = case
    masker = Masker(secrets)
    stream = masker.stream()

    for chunk in split(text, cuts):
        stream.feed(chunk)
        assert len(stream.pending) <= max(masker.longest - 1, 0)
