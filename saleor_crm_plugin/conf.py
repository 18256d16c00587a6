"""Typed, validated configuration: one parser for Saleor Dashboard and the sandbox settings.

Pure: no Django, no Saleor. The plugin passes `self.configuration` (a list of
`{"name", "value"}` dicts); the sandbox passes `settings.CRM_CONFIG` (a plain dict).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import FieldError
from .segments.segment_map import DEFAULT_SEGMENT_MAP_TEXT, DEFAULT_SEGMENTS, parse_segment_map

__all__ = ["DEFAULTS", "FIELDS", "CRMConfig", "ConfigError", "parse_config"]

INGESTION_ENABLED = "ingestion-enabled"
STORE_TIME_ZONE = "store-time-zone"
DORMANT_DAYS = "dormant-days"
CONSENT_KEY = "marketing-consent-key"
BIRTH_DATE_KEY = "birth-date-key"
GENDER_KEY = "gender-key"
RFM_SEGMENTS = "rfm-segments"

# name -> (label, help text, kind), in the order Dashboard shows them.
# Kinds: string, int, multiline, boolean.
FIELDS = {
    STORE_TIME_ZONE: (
        "Store time zone",
        "IANA time zone the store works in, e.g. Asia/Tokyo. 'Days since last order' and "
        "renewal dates are counted in it.",
        "string",
    ),
    DORMANT_DAYS: (
        "Dormant after (days)",
        "A customer with no order for this many days is in the built-in 'Dormant' segment.",
        "int",
    ),
    RFM_SEGMENTS: (
        "RFM segments",
        "One named segment a line, as 'Name: R 4-5; F 1-2' (R and F scores 1-5). Every one of "
        "the 25 R/F cells needs exactly one segment. Example: 'Champions: R 5; F 4-5'. The "
        "default is the common published map (Champions ... Lost).",
        "multiline",
    ),
    CONSENT_KEY: (
        "Marketing consent metadata key",
        "Key in the customer's metadata (private first, then public) whose value true/yes/1 "
        "means the customer agreed to marketing. Used by the rule field marketing_consent.",
        "string",
    ),
    BIRTH_DATE_KEY: (
        "Birth date metadata key",
        "Key in the customer's metadata holding the birth date as YYYY-MM-DD (the age column of "
        "the customer list).",
        "string",
    ),
    GENDER_KEY: (
        "Gender metadata key",
        "Key in the customer's metadata holding the gender as the store records it (shown in the "
        "customer list).",
        "string",
    ),
    INGESTION_ENABLED: (
        "Record orders and customers",
        "When on, every order and customer event is recorded in the CRM ledger.",
        "boolean",
    ),
}
DEFAULTS = {
    STORE_TIME_ZONE: "UTC",
    DORMANT_DAYS: 90,
    CONSENT_KEY: "marketing_consent",
    BIRTH_DATE_KEY: "birth_date",
    GENDER_KEY: "gender",
    RFM_SEGMENTS: DEFAULT_SEGMENT_MAP_TEXT,
    INGESTION_ENABLED: True,
}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class ConfigError(FieldError):
    """A configuration value is wrong; `field` names the setting."""


@dataclass(frozen=True)
class CRMConfig:
    ingestion_enabled: bool = True
    store_time_zone: str = "UTC"
    dormant_days: int = 90
    consent_key: str = "marketing_consent"
    birth_date_key: str = "birth_date"
    gender_key: str = "gender"
    # The named-segment map as (name, R scores, F scores), in the merchant's order.
    segments: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = tuple(
        (name, r, f) for name, (r, f) in DEFAULT_SEGMENTS.items()
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store_time_zone)

    @property
    def segment_map(self) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
        return {name: (r, f) for name, r, f in self.segments}

    @property
    def segment_names(self) -> tuple[str, ...]:
        return tuple(name for name, _r, _f in self.segments)


def _as_mapping(raw: Mapping | Iterable[Mapping] | None) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    return {item["name"]: item.get("value") for item in raw}


def _parse_bool(field: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(field, f"'{value}' is not true or false")


def _parse_days(field: str, value) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise ConfigError(field, f"'{value}' is not a whole number of days from 1 to 3650")
    return int(text)


def _parse_zone(field: str, value) -> str:
    name = str(value or "").strip()
    if not name:
        raise ConfigError(field, "is empty; give an IANA time zone such as Asia/Tokyo")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(field, f"'{name}' is not an IANA time zone (e.g. Asia/Tokyo)")
    return name


def _parse_key(field: str, value) -> str:
    key = str(value or "").strip()
    if not key:
        raise ConfigError(field, "is empty; give a metadata key such as marketing_consent")
    if len(key) > 128 or any(char.isspace() for char in key):
        raise ConfigError(
            field, f"'{key}' is not a metadata key (no spaces, at most 128 characters)"
        )
    return key


def _parse_segments(field: str, value) -> tuple:
    text = str(value or "")
    if not text.strip():
        raise ConfigError(field, "is empty; give one segment a line, e.g. 'Champions: R 5; F 4-5'")
    try:
        segments = parse_segment_map(text)
    except ValueError as error:
        raise ConfigError(field, str(error)) from None
    for name in segments:
        if len(name) > 64:
            raise ConfigError(field, f"the segment name '{name}' is longer than 64 characters")
    return tuple((name, r, f) for name, (r, f) in segments.items())


def parse_config(raw: Mapping | Iterable[Mapping] | None) -> CRMConfig:
    """Build a `CRMConfig`, raising `ConfigError` that names the first wrong field."""
    values = {**DEFAULTS, **{k: v for k, v in _as_mapping(raw).items() if v is not None}}
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(unknown[0], "is not a setting of the CRM plugin")
    return CRMConfig(
        ingestion_enabled=_parse_bool(INGESTION_ENABLED, values[INGESTION_ENABLED]),
        store_time_zone=_parse_zone(STORE_TIME_ZONE, values[STORE_TIME_ZONE]),
        dormant_days=_parse_days(DORMANT_DAYS, values[DORMANT_DAYS]),
        consent_key=_parse_key(CONSENT_KEY, values[CONSENT_KEY]),
        birth_date_key=_parse_key(BIRTH_DATE_KEY, values[BIRTH_DATE_KEY]),
        gender_key=_parse_key(GENDER_KEY, values[GENDER_KEY]),
        segments=_parse_segments(RFM_SEGMENTS, values[RFM_SEGMENTS]),
    )
