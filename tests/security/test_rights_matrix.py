"""Every URL, every kind of user, GET and POST, against the emulator, as rights_table.py says.

A URL pattern without an entry in the table fails here, so a new page must state its rights.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .rights_table import ANONYMOUS, DEMO_URLCONF, OUTSIDER, RIGHTS, USERS, Rule


def url_names(patterns, prefix: str = "") -> list[str]:
    """Every pattern's full name ("namespace:name"), through every include()."""
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names += url_names(pattern.url_patterns, namespace)
        else:
            assert isinstance(pattern, URLPattern)
            assert pattern.name, f"the URL pattern {pattern.pattern} has no name"
            names.append(prefix + pattern.name)
    return names


def test_every_url_pattern_has_an_entry_in_the_rights_table():
    routed = url_names(get_resolver(DEMO_URLCONF).url_patterns)
    assert len(routed) == len(set(routed)), "two URL patterns share a name"
    assert sorted(set(routed) - set(RIGHTS)) == [], "URLs missing from rights_table.RIGHTS"
    assert sorted(set(RIGHTS) - set(routed)) == [], "rights_table.RIGHTS names unknown URLs"


def outcome(response) -> str:
    """What the user met: ok, refused (by tokenadmin), login, 405, keycloak-refused or 500."""
    status = response.status_code
    if status >= 500:
        return "500"
    if status == 405:
        return "405"
    if status == 302 and response["Location"].startswith(reverse("oidc_authentication_init")):
        return "login"
    templates = {t.name or "" for t in response.templates}
    if any(name.startswith("gateway_error.html") for name in templates):
        # Past tokenadmin's checks; Keycloak refusing means the table or the checks are wrong.
        return "keycloak-refused" if status == 403 else "ok"
    if status in (403, 404) or (status == 401 and "problem+json" in response["Content-Type"]):
        return "refused"
    return "ok"


def expected(rule: Rule, method: str, user: str) -> str:
    allowed = rule.get if method == "GET" else rule.post
    if allowed is not None and user in allowed:
        return "ok"
    if user == ANONYMOUS and not rule.public:
        return "login"
    return "405" if allowed is None else "refused"


@pytest.mark.parametrize("user", USERS)
def test_every_url_answers_each_user_as_the_rights_table_says(user, world, client, client_as):
    client.defaults["HTTP_HOST"] = "localhost"
    if user != ANONYMOUS:
        client = client_as(user)
    wrong = []
    # Signing out ends the session the other entries need: last.
    for name, rule in sorted(RIGHTS.items(), key=lambda item: item[1].signs_out):
        url = reverse(name, args=rule.args(world))
        for method in ("GET", "POST"):
            send = client.get if method == "GET" else client.post
            response = send(url, rule.data(world))
            got, want = outcome(response), expected(rule, method, user)
            if got != want:
                wrong.append(f"{method} {url} ({name}): {got} ({response.status_code}), not {want}")
            elif (
                got == "refused"
                and user == OUTSIDER
                and not rule.public  # a public URL answers everyone alike (/metrics off: 404)
                and response.status_code != 403
            ):
                # No admin role at all: the 403 page everywhere, never "no such thing".
                wrong.append(f"{method} {url} ({name}): {response.status_code}, not 403")
            elif (
                got == "ok"
                and rule.no_store
                and "no-store" not in response.get("Cache-Control", "")
            ):
                wrong.append(f"{method} {url} ({name}): no Cache-Control: no-store")
    assert wrong == [], f"{user}:\n" + "\n".join(wrong)
