"""Duplicate customers: the keys two records of one person share, and the pairs that share one.

Pure (standard library, pandas, numpy and `phonenumbers`): the contact facts come in as a
DataFrame read from the host (`Host.contact_facts`), one row per profile and address, and
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
    "normalize_email",
    "normalize_emails",
    "normalize_phone",
    "normalize_phones",
    "postal_key",
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
    """`normalize_email` of each value of a Series (None where there is no address)."""
    return _per_unique(emails, normalize_email)


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


@cache
def _national(region: str) -> tuple[str, str, re.Pattern] | None:
    """(country code, national prefix, national number pattern) of a region, or None."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or not metadata.national_prefix:
        return None
    pattern = re.compile(metadata.general_desc.national_number_pattern)
    return str(metadata.country_code), metadata.national_prefix, pattern


def normalize_phones(numbers: pd.Series, region: str | None) -> pd.Series:
    """`normalize_phone` of each value of a Series, fast enough for a million customers.

    A national number in the region's usual shape (its trunk prefix, then a national number
    the region's numbering plan allows: `090-1234-5678` in Japan) is converted without
    parsing each one; every other number (international, or of an unusual shape) goes
    through `phonenumbers` once per distinct value.
    """
    cleaned = _per_unique(numbers, _clean_phone)
    result = pd.Series(None, index=numbers.index, dtype=object)
    present = cleaned.notna()
    national = _national(region) if region else None
    if national is not None:
        country_code, prefix, pattern = national
        text = cleaned[present]
        rest = text.str.slice(len(prefix))
        quick = (
            text.str.startswith(prefix)
            & ~rest.str.startswith(prefix)
            & rest.str.fullmatch(pattern.pattern).fillna(False).astype(bool)
        )
        result[quick[quick].index] = "+" + country_code + rest[quick]
        present &= ~result.notna()
    if present.any():
        slow = _per_unique(cleaned[present], lambda value: normalize_phone(value, region))
        result[slow.index] = slow
    return result.astype(object).where(result.notna(), None)


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
    keys = {
        EMAIL: normalize_emails(contacts["email"]),
        PHONE: normalize_phones(contacts["phone"], region),
    }
    names = _per_unique(
        contacts["first_name"].fillna("").astype(str) + "\x1f" + contacts["last_name"].fillna(""),
        lambda text: name_key(*text.split("\x1f", 1)),
    )
    postals = _per_unique(contacts["postal_code"], postal_key)
    both = names.notna() & postals.notna()
    keys[NAME_POSTAL] = (names + "\x1f" + postals).where(both, None)
    found, crowded = {}, {}
    for kind, values in keys.items():
        found[kind], crowded[kind] = _pairs_sharing(ids, values, max_group)
    width = np.int64(int(ids.max()) + 1 if len(ids) else 1)
    codes = {kind: low * width + high for kind, (low, high) in found.items()}
    every = np.unique(np.concatenate(list(codes.values()))) if codes else np.array([], np.int64)
    pairs = pd.DataFrame({"profile_id": every // width, "other_id": every % width})
    for kind in KINDS:
        pairs[kind] = np.isin(every, codes[kind])
    return Candidates(pairs=pairs, crowded=crowded)


def _pairs_sharing(ids: np.ndarray, values: pd.Series, max_group: int):
    """Every (lower id, higher id) pair of profiles sharing a value; and how many values
    more than `max_group` profiles share."""
    present = values.notna().to_numpy()
    frame = pd.DataFrame({"id": ids[present], "key": values[present].to_numpy()})
    frame = frame.drop_duplicates()
    codes, _ = pd.factorize(frame["key"])
    order = np.lexsort((frame["id"].to_numpy(), codes))
    codes, members = codes[order], frame["id"].to_numpy()[order]
    _, starts, counts = np.unique(codes, return_index=True, return_counts=True)
    lows, highs = [np.array([], np.int64)], [np.array([], np.int64)]
    for size in np.unique(counts[(counts >= 2) & (counts <= max_group)]):
        groups = members[starts[counts == size][:, None] + np.arange(size)]
        for i in range(size):
            for j in range(i + 1, size):
                lows.append(groups[:, i])
                highs.append(groups[:, j])
    low, high = np.concatenate(lows), np.concatenate(highs)
    return (low, high), int((counts > max_group).sum())
