"""Signed cursors for the API's lists: a cursor says where the next page starts and for which
query; one from another query, or altered, is refused (400).

Sessions use keyset cursors: the last row's sort key and id, so page 1,000 is one index range
read from that key instead of 100,000 rows counted off and thrown away. The ledger (small,
newest first) keeps offset cursors.
"""

import hashlib
from datetime import datetime
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import DateTimeField, Field, Model, Q
from ninja.errors import HttpError

CURSOR_SALT = "tokenadmin.api.cursor"
MAX_LIMIT = 500
FOREIGN = "This cursor is not one this query returned."


def filter_key_of(query: dict[str, Any]) -> str:
    """A short fingerprint of a list's query, carried in its cursors."""
    return hashlib.sha256(repr(sorted(query.items())).encode()).hexdigest()[:16]


def _cursor_load(cursor: str, filter_key: str) -> dict[str, Any]:
    try:
        data = signing.loads(cursor, salt=CURSOR_SALT)
        if not isinstance(data, dict) or data.get("f") != filter_key:
            raise ValueError
        return data
    except (signing.BadSignature, ValueError):
        raise HttpError(400, FOREIGN) from None


def cursor_offset(cursor: str, filter_key: str) -> int:
    """The offset an offset cursor carries (0 without a cursor)."""
    if not cursor:
        return 0
    try:
        return int(_cursor_load(cursor, filter_key)["o"])
    except (KeyError, TypeError, ValueError):
        raise HttpError(400, FOREIGN) from None


def cursor_offset_make(offset: int, filter_key: str) -> str:
    return signing.dumps({"o": offset, "f": filter_key}, salt=CURSOR_SALT)


# --- keyset cursors -------------------------------------------------------------------------------
def _terms(order: list[str]) -> list[tuple[str, bool]]:
    """ORDER BY terms ("-started_at", "id") as (field, descending) pairs."""
    return [(term.removeprefix("-"), term.startswith("-")) for term in order]


def keyset_cursor_make(key: dict[str, Any], order: list[str], filter_key: str) -> str:
    """A cursor just after the row whose sort columns are `key` in `order` (the last term must
    be unique: the id)."""
    values = []
    for name, _ in _terms(order):
        value = key[name]
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return signing.dumps({"k": values, "f": filter_key}, salt=CURSOR_SALT)


def keyset_cursor_load(cursor: str, model: type[Model], order: list[str], filter_key: str) -> list:
    """The sort key a keyset cursor carries, typed as the model's fields; 400 if it does not
    fit this query's order (another query's cursor, or an offset cursor)."""
    values = _cursor_load(cursor, filter_key).get("k")
    terms = _terms(order)
    if not isinstance(values, list) or len(values) != len(terms):
        raise HttpError(400, FOREIGN)
    typed: list[Any] = []
    for (name, _), value in zip(terms, values, strict=True):
        field = model._meta.get_field(name)
        assert isinstance(field, Field)  # the ORDER BY terms are the model's own columns
        try:
            if value is None:
                if not field.null:
                    raise ValueError
                typed.append(None)
            elif isinstance(field, DateTimeField):
                typed.append(datetime.fromisoformat(value))
            else:
                typed.append(field.to_python(value))
        except (TypeError, ValueError, ValidationError):
            raise HttpError(400, FOREIGN) from None
    return typed


def keyset_after_q(model: type[Model], order: list[str], values: list) -> Q:
    """Rows strictly after `values` in `order`. A nullable column's NULLs sort where the
    database puts them (PostgreSQL: as the largest value; SQLite: as the smallest); a column
    that cannot be NULL gets plain comparisons, which the database reads as an index range."""
    nulls_largest = connection.features.nulls_order_largest
    terms = [
        (name, descending, bool(model._meta.get_field(name).null))
        for name, descending in _terms(order)
    ]
    return _after_q(terms, values, nulls_largest)


def _after_q(terms: list[tuple[str, bool, bool]], values: list, nulls_largest: bool) -> Q:
    (name, descending, nullable), value = terms[0], values[0]
    nulls_come_last = nullable and nulls_largest != descending
    if value is None:
        equal = Q(**{f"{name}__isnull": True})
        # After a NULL come the non-NULLs only when NULLs sort first.
        beyond = Q(pk__in=[]) if nulls_come_last else Q(**{f"{name}__isnull": False})
        bound = Q()
    else:
        equal = Q(**{name: value})
        beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
        # The redundant inclusive bound lets the database start its index range at the key.
        bound = Q(**{f"{name}__{'lte' if descending else 'gte'}": value})
        if nulls_come_last:
            beyond |= Q(**{f"{name}__isnull": True})
            bound |= Q(**{f"{name}__isnull": True})
    if len(terms) == 1:
        return beyond
    return bound & (beyond | (equal & _after_q(terms[1:], values[1:], nulls_largest)))
