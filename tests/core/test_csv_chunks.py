"""The CSV download streams in pieces of about 64 KiB, not line by line: the file is the same."""

from tokenadmin.core.csv import csv_chunks, csv_lines


def test_chunks_join_lines_into_pieces_and_lose_nothing():
    lines = list(csv_lines([i, f"user-{i}", "mlflow"] for i in range(5000)))
    pieces = list(csv_chunks(lines, size=4096))

    assert "".join(pieces) == "".join(lines)
    assert all(len(piece) >= 4096 for piece in pieces[:-1])
    assert len(pieces) < len(lines) / 50


def test_no_lines_give_no_pieces():
    assert list(csv_chunks([])) == []
