# ruff: noqa: RUF001 (full-width digits, hyphens and letters are what the tests feed)
import random
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_crm_plugin.customers.duplicates import (
    KINDS,
    _clean_phone,
    candidate_pairs,
    name_key,
    name_keys,
    normalize_email,
    normalize_emails,
    normalize_phone,
    normalize_phones,
    postal_key,
    postal_keys,
    region_of_zone,
)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        (" Hanako.Sato@Example.COM ", "hanako.sato@example.com"),
        ("hanako.sato+shop@example.com", "hanako.sato@example.com"),
        ("H.a.n.a.k.o+news@gmail.com", "hanako@gmail.com"),
        ("hanako@googlemail.com", "hanako@gmail.com"),
        ("ｈａｎａｋｏ@gmail.com", "hanako@gmail.com"),
        ("+only@example.com", None),
        ("no-at-sign", None),
        ("", None),
        (None, None),
    ],
    ids=[
        "case-and-spaces",
        "plus-tag",
        "gmail-dots",
        "googlemail",
        "full-width",
        "tag-only",
        "no-at",
        "empty",
        "none",
    ],
)
def test_email_keys(typed, key):
    assert normalize_email(typed) == key


def test_dots_count_where_the_provider_keeps_them():
    assert normalize_email("h.sato@example.jp") != normalize_email("hsato@example.jp")


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("090-1234-5678", "JP", "+819012345678"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("０９０－１２３４－５６７８", "JP", "+819012345678"),
        ("(03) 1234 5678", "JP", "+81312345678"),
        ("+81 90-1234-5678", "JP", "+819012345678"),
        ("+81 90-1234-5678", None, "+819012345678"),
        ("090-1234-5678", None, None),
        ("(212) 555-0100", "US", "+12125550100"),
        ("+1 212 555 0100", "JP", "+12125550100"),
        ("12", "JP", None),
        ("phone", "JP", None),
        (None, "JP", None),
    ],
    ids=[
        "jp-mobile",
        "jp-tokyo",
        "jp-full-width",
        "jp-brackets",
        "jp-international",
        "international-without-region",
        "national-without-region",
        "us-national",
        "us-in-a-japanese-store",
        "too-short",
        "letters",
        "none",
    ],
)
def test_phone_keys(typed, region, e164):
    # when
    one = normalize_phone(typed, region)
    many = normalize_phones(pd.Series([typed], dtype=object), region)
    # then
    assert one == e164
    assert many.tolist() == [e164]


def _phone_by_phonenumbers(typed, region):
    """The key of the per-value path: the number cleaned as typed, then `phonenumbers`."""
    return normalize_phone(_clean_phone(typed), region)


_JP_SHAPES = st.one_of(
    st.sampled_from(["0", "00", "010", "0120", "0570", "0990", "050", "020", "060", "+81", "+810"]),
    st.sampled_from(["090", "080", "070", "03", "06", "011", "045", "0467", "0996", "+8190"]),
    st.text("0123456789", min_size=0, max_size=3),
    st.sampled_from(["+1", "+44", "+8", "+", ""]),
)


@settings(max_examples=2000, deadline=None)
@given(
    prefix=_JP_SHAPES,
    digits=st.text("0123456789", min_size=0, max_size=16),
    separator=st.sampled_from(["-", " ", "", "－", "ー", "(", ")", ".", "\t"]),
    padding=st.sampled_from(["", " ", "\u3000"]),
)
def test_the_quick_path_keys_every_number_as_phonenumbers_does(prefix, digits, separator, padding):
    # given: numbers typed as people type them, valid or not, national or international
    typed = padding + prefix + separator + digits[:4] + separator + digits[4:] + padding
    # when
    quick = normalize_phones(pd.Series([typed], dtype=object), "JP").tolist()[0]
    # then: the same key (or none) as phonenumbers gives
    assert quick == _phone_by_phonenumbers(typed, "JP")


def test_the_quick_path_over_every_japanese_number_shape():
    # given: every trunk or country prefix with 1 to 17 random digits after it, in bulk
    rng = random.Random(18)
    typed = [
        f"{prefix}{''.join(rng.choice('0123456789') for _ in range(length))}"
        for prefix in ("0", "+81", "+81 0", "010", "00", "0-")
        for length in range(18)
        for _ in range(120)
    ]
    typed += [f"0{first}0-{rng.randrange(10**8):08d}" for first in "6789" for _ in range(500)]
    # when
    quick = normalize_phones(pd.Series(typed, dtype=object), "JP").tolist()
    # then
    assert quick == [_phone_by_phonenumbers(value, "JP") for value in typed]
    assert sum(key is not None for key in quick) > 2000


@pytest.mark.parametrize(
    ("first", "last", "key"),
    [
        ("太郎", "山田", "太郎 山田"),
        ("山田　太郎", None, "太郎 山田"),
        ("ﾀﾛｳ", "ﾔﾏﾀﾞ", "タロウ ヤマダ"),
        ("Taro", "YAMADA", "taro yamada"),
        ("  ", "", None),
        (None, None, None),
    ],
    ids=["parts", "one-field-full-width-space", "half-width-kana", "latin-case", "blank", "none"],
)
def test_name_keys(first, last, key):
    assert name_key(first, last) == key


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("123-4567", "1234567"),
        ("〒１２３－４５６７", "1234567"),
        ("123ー4567", "1234567"),
        ("sw1a 1aa", "SW1A1AA"),
        ("1-", None),
        (None, None),
    ],
    ids=["jp", "jp-full-width-mark", "jp-long-vowel-dash", "uk", "too-short", "none"],
)
def test_postal_keys(typed, key):
    assert postal_key(typed) == key


def test_region_of_the_store_time_zone():
    assert region_of_zone("Asia/Tokyo") == "JP"
    assert region_of_zone("America/New_York") == "US"
    assert region_of_zone("UTC") is None


def _contacts(rows):
    return pd.DataFrame(
        rows, columns=["profile_id", "email", "first_name", "last_name", "phone", "postal_code"]
    )


def test_pairs_with_their_evidence():
    # given
    contacts = _contacts(
        [
            (1, "Hanako.Sato@gmail.com", "花子", "佐藤", "090-1234-5678", "150-0001"),
            (2, "hanakosato+shop@googlemail.com", None, None, None, None),  # a guest
            (3, "other@example.jp", "佐藤 花子", "", "+81 90 1234 5678", "〒１５０－０００１"),
            (3, "other@example.jp", "佐藤 花子", "", None, "100-0001"),  # a second address
            (4, "h.sato@example.jp", "花子", "鈴木", "03-1111-2222", "150-0001"),
            (5, None, None, None, None, None),
        ]
    )
    # when
    found = candidate_pairs(contacts, "JP")
    # then
    expected = pd.DataFrame(
        {
            "profile_id": [1, 1],
            "other_id": [2, 3],
            "email": [True, False],
            "phone": [False, True],
            "name_postal": [False, True],
        }
    )
    pd.testing.assert_frame_equal(found.pairs, expected)
    assert found.crowded == {"email": 0, "phone": 0, "name_postal": 0}


def test_a_key_shared_by_a_crowd_is_no_evidence():
    # given: the shop's own number on four customers, a family's on three
    contacts = _contacts(
        [(i, None, None, None, "03-1234-5678", None) for i in range(1, 5)]
        + [(i, None, None, None, "090-1111-2222", None) for i in range(10, 13)]
    )
    # when
    found = candidate_pairs(contacts, "JP", max_group=3)
    # then
    assert list(zip(found.pairs.profile_id, found.pairs.other_id, strict=True)) == [
        (10, 11),
        (10, 12),
        (11, 12),
    ]
    assert found.pairs.phone.tolist() == [True, True, True]
    assert found.crowded == {"email": 0, "phone": 1, "name_postal": 0}


def test_no_contacts_no_pairs():
    found = candidate_pairs(_contacts([]), "JP")
    assert found.pairs.empty
    assert list(found.pairs.columns) == ["profile_id", "other_id", "email", "phone", "name_postal"]


# A sample of what customers type, ASCII and not, well and badly formed.
_EMAILS = [
    " Hanako.Sato@Example.COM ",
    "hanako.sato+shop@example.com",
    "H.a.n.a.k.o+news@gmail.com",
    "hanako@googlemail.com",
    "ｈａｎａｋｏ@gmail.com",
    "+only@example.com",
    "no-at-sign",
    "",
    "a@b@c.com",
    "a+b@c@d.com",
    "@example.com",
    "x@",
    "...@gmail.com",
    "Ｔａｒｏ＠Example.com",
    "taro@example.com\t",
    "\x1ctaro@example.com",
    "太郎@例え.jp",
    "taro@EXAMPLE.com",
]
_PHONES = [
    "090-1234-5678",
    "09012345678",
    "０９０－１２３４－５６７８",
    "+81 90-1234-5678",
    "+81-3-1234-5678",
    "03-1234-5678",
    "(03) 1234 5678",
    "090-0000-1111",
    "0120-123-456",
    "010-1-212-555-0100",
    "+1 212 555 0100",
    "12",
    "phone",
    "",
    "+",
    "00-1234-5678",
    "+810 90 1234 5678",
    "0570-000-111",
    " 0 9 0 1 2 3 4 5 6 7 8 ",
    "tel:090-1234-5678",
    "090-1234-5678 ext 9",
    "٠٩٠١٢٣٤٥٦٧٨",
]
_NAMES = [
    "Taro",
    "TARO",
    "taro",
    "Yamada",
    "yamada",
    "Taro Yamada",
    "Mary-Jane",
    "O'Brien",
    "  Taro  ",
    "Taro\tYamada",
    "Taro\x1cYamada",
    "山田",
    "太郎",
    "山田　太郎",
    "ﾀﾛｳ",
    "Ｔａｒｏ",
    "",
    "  ",
    "ß",
    "İ",
]
_POSTALS = [
    "123-4567",
    "1234567",
    "〒１２３－４５６７",
    "123ー4567",
    "sw1a 1aa",
    "SW1A 1AA",
    "1-",
    "12",
    "",
    "abc",
    "〒123-4567",
    "１２３４５６７",
    "12 3",
]


def _pick(rng, values):
    """A value of the sample, or a missing one (None or NaN, as frames hold them)."""
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.15:
        return np.nan
    return rng.choice(values)


def _reference_pairs(contacts, region, max_group):
    """The candidate pairs by the per-value key functions and plain dictionaries."""
    keys = {
        "email": [normalize_email(None if pd.isna(v) else v) for v in contacts["email"]],
        "phone": [
            _phone_by_phonenumbers(None if pd.isna(v) else v, region) for v in contacts["phone"]
        ],
        "name_postal": [
            None if name is None or postal is None else (name, postal)
            for name, postal in zip(
                (
                    name_key(None if pd.isna(f) else f, None if pd.isna(la) else la)
                    for f, la in zip(contacts["first_name"], contacts["last_name"], strict=True)
                ),
                (postal_key(None if pd.isna(v) else v) for v in contacts["postal_code"]),
                strict=True,
            )
        ],
    }
    evidence, crowded = {}, {}
    for kind in KINDS:
        groups = {}
        for profile, key in zip(contacts["profile_id"], keys[kind], strict=True):
            if key is not None:
                groups.setdefault(key, set()).add(int(profile))
        crowded[kind] = sum(len(group) > max_group for group in groups.values())
        for group in groups.values():
            if 2 <= len(group) <= max_group:
                for pair in combinations(sorted(group), 2):
                    evidence.setdefault(pair, set()).add(kind)
    pairs = sorted(evidence)
    frame = pd.DataFrame(
        {
            "profile_id": np.array([low for low, _ in pairs], dtype=np.int64),
            "other_id": np.array([high for _, high in pairs], dtype=np.int64),
        }
    )
    for kind in KINDS:
        frame[kind] = [kind in evidence[pair] for pair in pairs]
    return frame, crowded


@pytest.mark.parametrize("seed", range(6))
def test_the_column_keys_find_the_pairs_the_per_value_keys_find(seed):
    # given: random contacts over a few profiles (so keys repeat), some with two addresses
    rng = random.Random(seed)
    rows = [
        (
            rng.randint(1, 400),
            _pick(rng, _EMAILS),
            _pick(rng, _NAMES),
            _pick(rng, _NAMES),
            _pick(rng, _PHONES),
            _pick(rng, _POSTALS),
        )
        for _ in range(3000)
    ]
    contacts = _contacts(rows)
    # when
    found = candidate_pairs(contacts, "JP", max_group=12)
    # then: the same pairs, evidence and crowded keys as key by key, value by value
    expected, crowded = _reference_pairs(contacts, "JP", max_group=12)
    assert len(expected) > 100
    pd.testing.assert_frame_equal(found.pairs, expected)
    assert found.crowded == crowded


@pytest.mark.parametrize("dtype", [object, "str"], ids=["object", "str"])
def test_the_column_keys_equal_the_per_value_keys(dtype):
    # given
    values = pd.Series([*_EMAILS, *_PHONES, *_NAMES, *_POSTALS, None], dtype=dtype)
    firsts = pd.Series([*_NAMES, None, None, "Taro"], dtype=dtype)
    lasts = pd.Series([*reversed(_NAMES), "Yamada", None, None], dtype=dtype)

    def plain(value):
        return None if pd.isna(value) else value

    # then
    assert normalize_emails(values).tolist() == [normalize_email(plain(v)) for v in values]
    assert postal_keys(values).tolist() == [postal_key(plain(v)) for v in values]
    assert normalize_phones(values, "JP").tolist() == [
        _phone_by_phonenumbers(plain(v), "JP") for v in values
    ]
    assert normalize_phones(values, "US").tolist() == [
        _phone_by_phonenumbers(plain(v), "US") for v in values
    ]
    assert name_keys(firsts, lasts).tolist() == [
        name_key(plain(f), plain(la)) for f, la in zip(firsts, lasts, strict=True)
    ]
