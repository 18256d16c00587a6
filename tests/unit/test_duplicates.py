# ruff: noqa: RUF001 (full-width digits, hyphens and letters are what the tests feed)
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_crm_plugin.customers.duplicates import (
    candidate_pairs,
    name_key,
    normalize_email,
    normalize_phone,
    normalize_phones,
    postal_key,
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


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["090", "080", "070", "03", "06", "011", "0120", "045", "050"]),
    digits=st.text("0123456789", min_size=4, max_size=9),
    separator=st.sampled_from(["-", " ", "", "－", "ー"]),
)
def test_the_quick_path_agrees_with_phonenumbers_on_valid_numbers(prefix, digits, separator):
    # given: national Japanese numbers typed as people type them
    typed = prefix + separator + digits[:4] + separator + digits[4:]
    expected = normalize_phone(typed, "JP")
    # when
    quick = normalize_phones(pd.Series([typed]), "JP").tolist()[0]
    # then: every number phonenumbers accepts, the quick path converts the same
    if expected is not None:
        assert quick == expected


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
        + [(i, None, None, None, "090-0000-1111", None) for i in range(10, 13)]
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
