"""Validate a payment request field by field. Amounts are Decimal from the JSON text onwards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")
AMOUNT_TEXT = re.compile(r"[0-9]{1,18}(\.[0-9]{1,18})?")
REQUIRED_FIELDS = ("transactionId", "customerId", "amount", "currency")
# ISO 4217 minor units where they differ from the usual 2.
MINOR_UNITS = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}


@dataclass(frozen=True)
class Payment:
    transaction_id: str
    customer_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Rules:
    currencies: frozenset[str]
    max_amount: Decimal
    # Used when a request names no currency; None makes `currency` required.
    default_currency: str | None = None


class InvalidPayment(Exception):
    def __init__(self, problems: list[dict[str, str]]):
        super().__init__(f"{len(problems)} invalid field(s)")
        self.problems = problems


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def valid_identifier(value: object) -> bool:
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def parse_payment(body: dict, rules: Rules) -> Payment:
    """Return a Payment, or raise InvalidPayment listing every problem found."""
    if "currency" not in body and rules.default_currency is not None:
        body = {**body, "currency": rules.default_currency}
    unknown = sorted(set(body) - set(REQUIRED_FIELDS))
    problems = [{"field": name, "message": "unknown field"} for name in unknown]
    problems += [
        {"field": name, "message": "required"} for name in REQUIRED_FIELDS if name not in body
    ]
    for name in ("transactionId", "customerId"):
        if name in body and not valid_identifier(body[name]):
            problems.append({"field": name, "message": "1 to 64 characters of A-Z a-z 0-9 _ -"})
    currency = body.get("currency")
    if "currency" in body and (not isinstance(currency, str) or currency not in rules.currencies):
        allowed = ", ".join(sorted(rules.currencies))
        problems.append({"field": "currency", "message": f"one of {allowed}"})
        currency = None
    amount, amount_problem = _amount(body.get("amount"), currency, rules)
    if "amount" in body and amount_problem:
        problems.append({"field": "amount", "message": amount_problem})
    if problems or amount is None or not isinstance(currency, str):
        raise InvalidPayment(problems)
    return Payment(body["transactionId"], body["customerId"], amount, currency)


def _amount(raw: object, currency: str | None, rules: Rules) -> tuple[Decimal | None, str | None]:
    amount = _to_decimal(raw)
    if amount is None:
        return None, 'a positive decimal number or string, e.g. "12.50"'
    if amount <= 0:
        return None, "must be greater than 0"
    if amount > rules.max_amount:
        return None, f"must not exceed {rules.max_amount}"
    if currency is not None:
        places = minor_units(currency)
        if amount != amount.quantize(Decimal(1).scaleb(-places)):
            return None, f"{currency} allows at most {places} decimal places"
        amount = amount.quantize(Decimal(1).scaleb(-places))
    return amount, None


def _to_decimal(raw: object) -> Decimal | None:
    # bool is an int in Python, and True is not an amount.
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        return Decimal(raw) if AMOUNT_TEXT.fullmatch(raw) else None
    if isinstance(raw, int | Decimal):
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return None
        return value if value.is_finite() else None
    return None
