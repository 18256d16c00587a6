"""Duplicate customers: the keys two records of one person share, and the pairs that share one.

Pure (standard library, pandas, numpy and `phonenumbers`): the contact facts come in as a
DataFrame read from the host (`Host.user_contacts`, `Host.order_contacts`), one row per
profile and address, and
the candidate pairs go out with the evidence, which keys matched. Nothing here decides a
merge: staff confirm each one (a recycled email address belongs to someone else).

The keys:

- email: trimmed, lower-cased, the `+tag` of the local part dropped (plus-addressing), and
  the dots of the local part dropped only where the provider ignores them (Gmail, whose
  `googlemail.com` is the same mailbox);
- phone: E.164 (`+819012345678`), national numbers read in the store's region (a Japanese
  store's `090-1234-5678` and `03-1234-5678`), full-width digits and any separators allowed;
- name and postal code together: NFKC (full and half width alike), case-folded, the name's
  parts in any order and spacing, the postal code's separators dropped (`〒123-4567`).

A million customers a night: ASCII text (NFKC leaves it as it is) is keyed a value at a time
by lean functions without NFKC, Japanese phone numbers by the numbering plan's patterns with
the key `phonenumbers` gives, and the rest by the exact functions once per distinct value;
the pairs are found over integer codes of the keys. pandas without pyarrow runs its `.str`
methods a value at a time too (and slower than these functions, measured at 1M rows).
"""

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers

__all__ = [
    "EMAIL",
    "KINDS",
    "NAME_POSTAL",
    "PHONE",
    "Candidates",
    "candidate_pairs",
    "name_key",
    "name_keys",
    "normalize_email",
    "normalize_emails",
    "normalize_phone",
    "normalize_phones",
    "postal_key",
    "postal_keys",
    "region_of_zone",
]

EMAIL = "email"
PHONE = "phone"
NAME_POSTAL = "name_postal"
KINDS = (EMAIL, PHONE, NAME_POSTAL)

# Providers that deliver `j.doe@` and `jdoe@` to one mailbox, under each of their domains.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}

# What separates the parts of a phone number or a postal code as people type them (after
# NFKC, which makes full-width digits and hyphens plain): anything but digits, letters and +.
_NOT_PHONE = re.compile(r"[^0-9+]")
_NOT_POSTAL = re.compile(r"[^0-9A-Z]")


def normalize_email(email: str | None) -> str | None:
    """Return the mailbox an address delivers to, as a key (None when there is none).

    Parameters
    ----------
    email : str or None
        The address as typed.

    Returns
    -------
    str or None
        `local@domain`, lower-cased, without a `+tag`, without the local part's dots at a
        provider that ignores them.
    """
    if email is None:
        return None
    text = unicodedata.normalize("NFKC", str(email)).strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def normalize_emails(emails: pd.Series) -> pd.Series:
    """`normalize_email` of each value of a Series (None where there is no address).

    ASCII addresses (NFKC leaves them as they are) take `_ascii_email`, a value at a time;
    the others go through `normalize_email` once per distinct value.
    """
    return _keys(emails, _ascii_email, normalize_email)


def _ascii_email(text: str) -> str | None:
    """`normalize_email` of an ASCII address, without NFKC (which leaves it as it is)."""
    local, at, domain = text.strip().lower().rpartition("@")
    if not at or not local or not domain:
        return None
    local = local.partition("+")[0]
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def normalize_phone(text: str | None, region: str | None) -> str | None:
    """Return the number in E.164 (`+819012345678`), or None when it is not a valid number.

    Parameters
    ----------
    text : str or None
        The number as typed: international (`+81 90-1234-5678`) or national in `region`
        (`090-1234-5678`), full-width digits allowed.
    region : str or None
        The ISO country code national numbers are read in (the store's); None reads only
        international numbers.
    """
    if text is None:
        return None
    cleaned = unicodedata.normalize("NFKC", str(text)).strip()
    if not cleaned:
        return None
    try:
        number = phonenumbers.parse(cleaned, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Regions whose numbers `normalize_phones` converts by their numbering plan without parsing
# each one; the unit tests compare it with `phonenumbers` over generated numbers of each.
_QUICK_REGIONS = frozenset({"JP"})
_PHONE_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@cache
def _plan(region: str) -> tuple[str, str, re.Pattern, dict[int, re.Pattern]] | None:
    """(country code, national prefix, international prefix, valid national numbers by their
    length) of a region whose numbers can be keyed without `phonenumbers`, or None.

    A national significant number is valid when it matches the region's general description
    and one of its number types, each with its possible lengths (`is_valid_number`).
    """
    if region.upper() not in _QUICK_REGIONS:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    descs = [getattr(metadata, name) for name in _PHONE_TYPES]
    descs = [desc for desc in descs if desc is not None and desc.national_number_pattern]
    general = metadata.general_desc
    valid = {}
    for length in range(1, 18):  # phonenumbers refuses national numbers longer than 17
        if general.possible_length and length not in general.possible_length:
            continue
        types = [
            f"(?:{desc.national_number_pattern})"
            for desc in descs
            if not desc.possible_length or length in desc.possible_length
        ]
        if types:
            valid[length] = re.compile(
                f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(types)})\\Z"
            )
    return (
        str(metadata.country_code),
        metadata.national_prefix,
        re.compile(metadata.international_prefix),
        valid,
    )


def normalize_phones(numbers: pd.Series, region: str | None) -> pd.Series:
    """`normalize_phone` of each number, cleaned as people type them (only its digits and a
    leading +), fast enough for a million customers.

    In a region of `_QUICK_REGIONS`, a national number (the trunk prefix, then a number of
    the numbering plan: `090-1234-5678` in Japan, full-width digits too once NFKC made them
    plain) or international one of the region's country code (`+81 90-1234-5678`) is keyed
    (or found invalid) by the numbering plan's patterns, with the key `phonenumbers` gives;
    every other number (another country, an unusual shape) goes through `phonenumbers` once
    per distinct value.
    """
    plan = _plan(region) if region else None
    objects = _objects(numbers)
    keys = np.full(len(objects), None, dtype=object)
    parse = np.zeros(len(objects), dtype=bool)
    for row, text in enumerate(objects):
        if text is None:
            continue
        if not text.isascii():
            # NFKC and cleaning make full-width digits plain: the plan can read them then.
            text = _clean_phone(text)
            if text is None:
                continue
            objects[row] = text
        if plan is not None:
            decided, key = _quick_phone(text, plan)
            if decided:
                keys[row] = key
                continue
        parse[row] = True
    if parse.any():
        keys[parse] = _per_unique(
            pd.Series(objects[parse], dtype=object),
            lambda value: normalize_phone(_clean_phone(value), region),
        ).to_numpy()
    return pd.Series(keys, index=numbers.index, dtype=object)


_NOT_DIGIT = re.compile(r"[^0-9]")


def _quick_phone(text: str, plan) -> tuple[bool, str | None]:
    """(whether the numbering plan decides an ASCII number, its E.164 key or None).

    `phonenumbers` reads a national number with the trunk prefix (not followed by another
    0, not the international call prefix) as the rest, and `+<country code>` followed by
    anything but 0 as the rest; either is then valid or not by the plan's patterns alone.
    """
    country_code, prefix, international, valid = plan
    text = text.strip()
    digits = text.replace("-", "")
    if not digits.isdigit():
        digits = _NOT_DIGIT.sub("", text)
    if not digits:
        return True, None
    if text.startswith("+"):
        if not digits.startswith(country_code):
            return False, None
        number = digits[len(country_code) :]
    else:
        if not digits.startswith(prefix) or international.match(digits):
            return False, None
        number = digits[len(prefix) :]
    if number.startswith("0"):
        return False, None
    pattern = valid.get(len(number))
    return True, f"+{country_code}{number}" if pattern and pattern.fullmatch(number) else None


def _clean_phone(text) -> str | None:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    value = unicodedata.normalize("NFKC", str(text)).strip()
    plus = value.startswith("+")
    digits = _NOT_PHONE.sub("", value).replace("+", "")
    if not digits:
        return None
    return ("+" if plus else "") + digits


def name_key(first_name: str | None, last_name: str | None) -> str | None:
    """Return the name as a key: NFKC, case-folded, its parts in order whatever the spacing
    and whichever field holds which (`山田 太郎` is `太郎　山田`); None without a name.
    """
    parts = []
    for text in (first_name, last_name):
        if text is None or (isinstance(text, float) and np.isnan(text)):
            continue
        parts += unicodedata.normalize("NFKC", str(text)).casefold().split()
    if not parts:
        return None
    return " ".join(sorted(parts))


def postal_key(code: str | None) -> str | None:
    """Return a postal code as a key: NFKC, upper-case, without spaces, hyphens or `〒`
    (full-width `123-4567` too); None when fewer than three characters are left."""
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    text = _NOT_POSTAL.sub("", unicodedata.normalize("NFKC", str(code)).upper())
    return text if len(text) >= 3 else None


def name_keys(first_names: pd.Series, last_names: pd.Series) -> pd.Series:
    """`name_key` of each (first name, last name) of two aligned Series.

    ASCII names (NFKC leaves them as they are, and case-folding is lower-casing) take
    `_ascii_name`, a pair at a time; the others go through `name_key` once per distinct
    pair.
    """
    firsts, lasts = _objects(first_names), _objects(last_names)
    keys = np.full(len(firsts), None, dtype=object)
    slow = np.zeros(len(firsts), dtype=bool)
    for row, (first, last) in enumerate(zip(firsts, lasts, strict=True)):
        if (first is None or first.isascii()) and (last is None or last.isascii()):
            keys[row] = _ascii_name(first or "", last or "")
        else:
            slow[row] = True
    if slow.any():
        pairs = pd.Series(list(zip(firsts[slow], lasts[slow], strict=True)), dtype=object)
        keys[slow] = _per_unique(pairs, lambda pair: name_key(*pair)).to_numpy()
    return pd.Series(keys, index=first_names.index, dtype=object)


def _ascii_name(first: str, last: str) -> str | None:
    """`name_key` of ASCII names, without NFKC (which leaves them as they are)."""
    parts = f"{first} {last}".lower().split()
    if len(parts) == 2:
        low, high = parts
        return f"{low} {high}" if low <= high else f"{high} {low}"
    return " ".join(sorted(parts)) if parts else None


def postal_keys(codes: pd.Series) -> pd.Series:
    """`postal_key` of each value of a Series.

    ASCII codes take `_ascii_postal`, a value at a time; the others go through
    `postal_key` once per distinct value.
    """
    return _keys(codes, _ascii_postal, postal_key)


def _ascii_postal(code: str) -> str | None:
    """`postal_key` of an ASCII code, without NFKC (which leaves it as it is)."""
    text = code.upper().replace("-", "")
    if not text.isalnum():
        text = _NOT_POSTAL.sub("", text)
    return text if len(text) >= 3 else None


def _objects(values: pd.Series) -> np.ndarray:
    """The values as an object array, None where missing (None, NaN) and text elsewhere."""
    objects = values.to_numpy(dtype=object, copy=True)
    missing = pd.isna(objects)
    objects[missing] = None
    other = np.fromiter(
        (type(value) is not str for value in objects), dtype=bool, count=len(objects)
    )
    other &= ~missing
    objects[other] = [str(value) for value in objects[other]]
    return objects


def _keys(values: pd.Series, quick, exact) -> pd.Series:
    """`quick` of each ASCII value, `exact` of each distinct other (None where missing)."""
    objects = _objects(values)
    keys = np.full(len(objects), None, dtype=object)
    slow = np.zeros(len(objects), dtype=bool)
    for row, text in enumerate(objects):
        if text is None:
            continue
        if text.isascii():
            keys[row] = quick(text)
        else:
            slow[row] = True
    if slow.any():
        keys[slow] = _per_unique(pd.Series(objects[slow], dtype=object), exact).to_numpy()
    return pd.Series(keys, index=values.index, dtype=object)


def _per_unique(values: pd.Series, function) -> pd.Series:
    """Apply `function` once per distinct value (a million customers share few of them)."""
    values = values.astype(object).where(values.notna(), None)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([function(value) for value in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _zone_table() -> Path | None:
    """The IANA `zone.tab` (time zone -> country) of the system, else of the `tzdata` package."""
    for folder in zoneinfo.TZPATH:
        if (Path(folder) / "zone.tab").exists():
            return Path(folder) / "zone.tab"
    try:
        import tzdata
    except ImportError:
        return None
    table = Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab"
    return table if table.exists() else None


@cache
def _zone_regions() -> dict[str, str]:
    regions: dict[str, str] = {}
    table = _zone_table()
    if table is None:
        return regions
    for line in table.read_text().splitlines():
        if line and not line.startswith("#"):
            country, _, zone, *_ = line.split("\t")
            regions[zone] = country
    return regions


def region_of_zone(zone: str) -> str | None:
    """Return the country of an IANA time zone (`Asia/Tokyo` -> `JP`), None for `UTC`."""
    return _zone_regions().get(zone)


@dataclass
class Candidates:
    """Pairs of profiles that may be one person.

    `pairs` has one row per pair: `profile_id` < `other_id`, then one boolean column per
    kind of key (`KINDS`) saying whether that key matched. `crowded` counts, per kind, the
    keys shared by more profiles than `max_group` (a shop's own phone number, a placeholder
    address), which are no evidence and give no pairs.
    """

    pairs: pd.DataFrame
    crowded: dict[str, int] = field(default_factory=dict)


def candidate_pairs(contacts: pd.DataFrame, region: str | None, max_group: int = 10) -> Candidates:
    """Find the profiles that share an email, a phone number, or a name with a postal code.

    Parameters
    ----------
    contacts : DataFrame
        One row per profile and address: `profile_id` (int), `email`, `first_name`,
        `last_name`, `phone`, `postal_code` (any may be missing).
    region : str or None
        The store's country, in which national phone numbers are read.
    max_group : int
        A key shared by more profiles than this is left out (`Candidates.crowded`).

    Returns
    -------
    Candidates
        The pairs, ordered by (`profile_id`, `other_id`), with the evidence.
    """
    ids = contacts["profile_id"].to_numpy(dtype=np.int64)
    names = _codes(name_keys(contacts["first_name"], contacts["last_name"]))
    postals = _codes(postal_keys(contacts["postal_code"]))
    both = (names >= 0) & (postals >= 0)
    name_postal = np.full(len(ids), -1, dtype=np.int64)
    name_postal[both] = pd.factorize(names[both] * (postals.max(initial=0) + 1) + postals[both])[0]
    codes = {
        EMAIL: _codes(normalize_emails(contacts["email"])),
        PHONE: _codes(normalize_phones(contacts["phone"], region)),
        NAME_POSTAL: name_postal,
    }
    found, crowded = {}, {}
    for kind, keys in codes.items():
        found[kind], crowded[kind] = _pairs_sharing(ids, keys, max_group)
    width = np.int64(int(ids.max()) + 1 if len(ids) else 1)
    pair_codes = {kind: low * width + high for kind, (low, high) in found.items()}
    every = _sorted_unique(np.concatenate(list(pair_codes.values())))
    pairs = pd.DataFrame({"profile_id": every // width, "other_id": every % width})
    for kind in KINDS:
        pairs[kind] = np.isin(every, pair_codes[kind])
    return Candidates(pairs=pairs, crowded=crowded)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct integers, sorted (what `np.unique` returns, which numpy 2 computes with a
    hash table: 60 times slower than a sort over a million int64)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _codes(keys: pd.Series) -> np.ndarray:
    """Each key as an integer code (equal keys, equal codes; -1 where there is none)."""
    codes, _ = pd.factorize(keys.to_numpy(), use_na_sentinel=True)
    return codes.astype(np.int64)


def _pairs_sharing(ids: np.ndarray, codes: np.ndarray, max_group: int):
    """Every (lower id, higher id) pair of profiles sharing a key (by its code); and how many
    keys more than `max_group` profiles share."""
    present = codes >= 0
    width = np.int64(int(ids.max()) + 1 if len(ids) else 1)
    # One integer a (key, profile): sorted by key then profile, each profile once a key.
    members = _sorted_unique(codes[present] * width + ids[present])
    keys, members = members // width, members % width
    starts = np.flatnonzero(np.diff(keys, prepend=-1)) if len(keys) else np.array([], np.int64)
    counts = np.diff(np.append(starts, len(keys)))
    lows, highs = [np.array([], np.int64)], [np.array([], np.int64)]
    for size in np.unique(counts[(counts >= 2) & (counts <= max_group)]):
        groups = members[starts[counts == size][:, None] + np.arange(size)]
        for i in range(size):
            for j in range(i + 1, size):
                lows.append(groups[:, i])
                highs.append(groups[:, j])
    low, high = np.concatenate(lows), np.concatenate(highs)
    return (low, high), int((counts > max_group).sum())
