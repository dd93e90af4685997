"""The one CSV writer: every CSV tokenadmin writes (sessions, ledger, report attachments) goes
through it, so no cell a spreadsheet opens can start a formula.

OWASP's advice for CSV injection: a cell that begins with = + - @ tab or carriage return gets a
leading single quote, so spreadsheets show it as text; the csv module quotes the rest.
"""

import csv
import gzip
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


def csv_chunks(lines: Iterable[str], *, size: int = 65536) -> Iterator[str]:
    """Lines joined into pieces of about `size` characters, for a StreamingHttpResponse: the
    server writes and flushes each piece it gets, and a million one-line writes cost more
    than the rows themselves."""
    pending: list[str] = []
    length = 0
    for line in lines:
        pending.append(line)
        length += len(line)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV document, for an attachment."""
    buffer = io.StringIO()
    buffer.writelines(csv_lines(rows))
    return buffer.getvalue()


def csv_gzip_within(rows: Iterable[Iterable[object]], *, limit_bytes: int) -> bytes | None:
    """The CSV gzipped, or None as soon as it would exceed `limit_bytes` (memory stays under
    about the limit: the rows are read lazily and dropped once compressed)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed:
        for n, line in enumerate(csv_lines(rows), start=1):
            packed.write(line.encode())
            if n % 1000 == 0 and buffer.tell() > limit_bytes:
                return None
    data = buffer.getvalue()
    return data if len(data) <= limit_bytes else None
