"""Money as `Decimal` with its currency, rounded by the currency's minor unit.

Pure: no Django, no Saleor.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

__all__ = [
    "ISO_4217",
    "THREE_DECIMAL",
    "ZERO_DECIMAL",
    "Money",
    "minor_unit",
    "parse_amount",
    "quantize_amount",
    "validate_currency",
]

# ISO 4217 currencies whose minor unit is not 2 digits. Everything else has 2.
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# ISO 4217 codes in use (2025), without XTS (testing) and XXX (no currency).
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG
    XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL
    """.split()
)

# Large enough for any order total, small enough for NUMERIC(20, 3) (Saleor's money columns).
MAX_DIGITS = 20
DECIMAL_PLACES = 3


class Money(NamedTuple):
    amount: Decimal
    currency: str


def validate_currency(currency: str) -> str:
    """Return the currency code in upper case, or raise ValueError naming the problem."""
    code = (currency or "").strip().upper()
    if not _CURRENCY_RE.match(code):
        raise ValueError(f"'{currency}' is not an ISO 4217 currency code (three letters)")
    if code not in ISO_4217:
        raise ValueError(f"'{currency}' is not an ISO 4217 currency code in use")
    return code


def minor_unit(currency: str) -> int:
    """Return how many decimal digits the currency's minor unit has (JPY 0, USD 2, KWD 3)."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


_EXPONENTS = {0: Decimal(1), 2: Decimal("0.01"), 3: Decimal("0.001")}


def quantize_amount(amount: Decimal, currency: str) -> Decimal:
    """Round an amount half-up to the currency's minor unit."""
    return Decimal(amount).quantize(_EXPONENTS[minor_unit(currency)], rounding=ROUND_HALF_UP)


def parse_amount(text: str | Decimal | int, currency: str) -> Decimal:
    """Parse an amount that must already be exact in the currency's minor unit.

    Raises ValueError when the text is not a number, is negative or is not finite, or has
    more decimals than the currency allows (1.5 JPY is an error, not a rounding).
    """
    try:
        amount = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"'{text}' is not a finite number")
    if amount < 0:
        raise ValueError(f"'{text}' is negative")
    if quantize_amount(amount, currency) != amount:
        raise ValueError(
            f"'{text}' has more decimals than {currency} allows ({minor_unit(currency)})"
        )
    if amount.adjusted() >= MAX_DIGITS - DECIMAL_PLACES:
        raise ValueError(f"'{text}' is too large")
    return quantize_amount(amount, currency)
