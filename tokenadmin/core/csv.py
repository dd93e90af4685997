"""The one CSV writer: every CSV tokenadmin writes (sessions, ledger, report attachments) goes
through it, so no cell a spreadsheet opens can start a formula.

OWASP's advice for CSV injection: a cell that begins with = + - @ tab or carriage return gets a
leading single quote, so spreadsheets show it as text; the csv module quotes the rest.
"""

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A text value that a spreadsheet would run, made inert; other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, so rows stream instead of piling up."""

    def write(self, value: str) -> str:
        return value


def csv_line(values: Iterable[object]) -> str:
    """One CSV line (with its line ending), every cell neutralised."""
    return csv.writer(_Echo()).writerow([csv_cell(value) for value in values])


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Lines to stream (StreamingHttpResponse), read lazily from `rows`."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV document, for an attachment."""
    buffer = io.StringIO()
    buffer.writelines(csv_lines(rows))
    return buffer.getvalue()
