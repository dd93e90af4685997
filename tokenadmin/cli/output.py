"""Printing for people (tables) and for scripts (JSON, CSV)."""

import json
import sys
from collections.abc import Sequence
from typing import Any

from tokenadmin.core.csv import csv_line


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    sys.stdout.write(csv_line(header))
    for row in rows:
        sys.stdout.write(csv_line(row))


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    texts = [[str(cell) for cell in row] for row in rows]
    widths = [len(name) for name in header]
    for row in texts:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    sys.stdout.write(line.format(*header).rstrip() + "\n")
    for row in texts:
        sys.stdout.write(line.format(*row).rstrip() + "\n")


def short_time(value: str | None) -> str:
    """An ISO time from the API as 'YYYY-MM-DD HH:MM' (UTC as sent), or '-'."""
    if not value:
        return "-"
    return value.replace("T", " ")[:16]
