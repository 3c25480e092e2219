"""Check digits and issuer rules that turn a digit pattern into a confident detection.

Luhn (ISO/IEC 7812) for payment cards, MOD 97-10 (ISO 7064) for IBANs, and the SSA's
never-issued ranges for US social security numbers. Each rejects roughly nine random
strings in ten, which is what keeps ids, counters and hashes in logs from being redacted.
"""

from __future__ import annotations

# Registered IBAN lengths per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


# Every second digit from the right is doubled, and a two-digit result counts as its digit sum.
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """The Luhn check over a string of ASCII digits (slices, ``translate`` and ``map`` keep the
    loop in C: this runs on every long digit run of every log line)."""
    backwards = digits[::-1]
    total = sum(map(int, backwards[::2])) + sum(map(int, backwards[1::2].translate(_DOUBLED)))
    return total % 10 == 0


def card_issuer_plausible(digits: str) -> bool:  # noqa: PLR0911 (one return per scheme reads best)
    """Whether the number's prefix (IIN) and length belong to a major card scheme.

    Ranges from the schemes' published IIN tables: Visa, Mastercard (incl. 2-series),
    American Express, Diners, Discover, JCB (incl. the old 15-digit 1800/2131), Maestro,
    UnionPay. This rejects epoch-millisecond timestamps and most counters before Luhn.
    """
    length = len(digits)
    if not 12 <= length <= 19:
        return False
    first = digits[0]
    two = int(digits[:2])
    four = int(digits[:4])
    if first == "4":
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return length == 16
    if two in (34, 37):
        return length == 15
    if 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39):
        return 14 <= length <= 19
    if four in (1800, 2131):
        return length == 15
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649:
        return length >= 16
    if 3528 <= four <= 3589:
        return length >= 16
    if two in (50, 62) or 56 <= two <= 69:
        return length >= 12
    return False


def iban_valid(compact: str) -> bool:
    """MOD 97-10 over an upper-case IBAN without spaces, with the country's registered length."""
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def us_ssn_plausible(area: str, group: str, serial: str) -> bool:
    """SSNs are never issued with area 000, 666 or 900-999, group 00 or serial 0000."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
