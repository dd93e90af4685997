"""Bad input never makes a 500: every query parameter (and form field) a page reads, found by
watching what the page asks its QueryDict for, gets dates at the ends of time, huge numbers,
ids with "/", "%", NUL and 100 KB strings. A parameter a new page reads is fuzzed with no edit
here; so is every string in every URL path."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from .rights_table import ADMIN, RIGHTS

BAD_VALUES = [
    "9999-12-31",
    "0001-01-01",
    "2025-02-30",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "nan",
    "a/b",
    "%",
    "%2F..%2F",
    "\x00",
    "a\x00b",
    "'; DROP TABLE x; --",
    "☃\u202e",
    "x" * 100_000,
]
WORST_VALUES = ["99999999999999999999999999", "\x00", "x" * 100_000]
BAD_PATH_PARTS = ["a/b", "%", "%00", "..", "\x00", "x" * 2000]
NOT_FUZZED = {"csrfmiddlewaretoken"}


@contextmanager
def keys_read() -> Iterator[set[str]]:
    """The names a request's views look up in request.GET / request.POST."""
    seen: set[str] = set()
    originals = {
        name: getattr(QueryDict, name) for name in ("__getitem__", "get", "getlist", "__contains__")
    }

    def recording(name):
        original = originals[name]

        def wrapper(self, key, *args, **kwargs):
            seen.add(key)
            return original(self, key, *args, **kwargs)

        return wrapper

    for name in originals:
        setattr(QueryDict, name, recording(name))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            if original is getattr(MultiValueDict, name, None) or name == "__contains__":
                delattr(QueryDict, name)
            else:
                setattr(QueryDict, name, original)


def _targets(method: str) -> list[tuple[str, object]]:
    """What the admin (who may do anything) can send with this method; what may sign them out
    comes last (the requests after it then meet the login, which is no 500 either)."""
    allowed = []
    for name, rule in sorted(RIGHTS.items(), key=lambda item: item[1].signs_out):
        users = rule.get if method == "GET" else rule.post
        if users and ADMIN in users:
            allowed.append((name, rule))
    return allowed


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_parameter_value_makes_a_500(method, world, client_as):
    client = client_as(ADMIN)
    send = client.get if method == "GET" else client.post
    failures = []
    fuzzed = 0
    for name, rule in _targets(method):
        url = reverse(name, args=rule.args(world))
        base = rule.data(world)
        with keys_read() as seen:
            send(url, base)
        keys = sorted(seen - NOT_FUZZED)
        tries = [{key: value} for key in keys for value in BAD_VALUES]
        if method == "POST":
            # Forms check every field: every field bad at once, then each alone with the worst.
            tries = [dict.fromkeys(keys, value) for value in BAD_VALUES if keys] + [
                {key: value} for key in keys for value in WORST_VALUES
            ]
        for bad in tries:
            fuzzed += 1
            response = send(url, {**base, **bad})
            if response.status_code >= 500:
                shown = {key: value[:40] for key, value in bad.items()}
                failures.append(f"{method} {url} {shown!r}: {response.status_code}")
    assert fuzzed > 200, "the pages read fewer parameters than expected: is the recording broken?"
    assert failures == []


def test_no_path_part_makes_a_500(world, client_as):
    client = client_as(ADMIN)
    failures = []
    for name, rule in _targets("GET"):
        args = rule.args(world)
        for index, arg in enumerate(args):
            if not isinstance(arg, str):
                continue
            for bad in BAD_PATH_PARTS:
                changed = [*args[:index], bad, *args[index + 1 :]]
                try:
                    url = reverse(name, args=changed)
                except Exception:  # the URL pattern itself refuses it: nothing to request
                    continue
                response = client.get(url)
                if response.status_code >= 500:
                    failures.append(f"GET {url[:120]} ({name}): {response.status_code}")
    assert failures == []
