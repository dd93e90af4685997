"""Redirect-URI matching as Keycloak's RedirectUtils.verifyRedirectUri (26.x)."""

from __future__ import annotations

from urllib.parse import urlsplit

INSTALLED_APP_URL = "http://localhost"
INSTALLED_APP_LOOPBACK = "http://127.0.0.1"


def _strip_for_wildcard(uri: str) -> str:
    for mark in ("?", "#"):
        index = uri.find(mark)
        if index >= 0:
            uri = uri[:index]
    return uri


def _matches(valid: list[str], redirect: str, allow_wildcards: bool) -> str | None:
    for candidate in valid:
        if candidate == "*":
            return candidate
        if candidate.endswith("*") and "?" not in candidate and allow_wildcards:
            r = _strip_for_wildcard(redirect)
            length = len(candidate) - 1
            prefix = candidate[:length]
            if r.startswith(prefix):
                return candidate
            if length - 1 > 0 and prefix[length - 1] == "/":
                length -= 1
            if prefix[:length] == r:
                return candidate
        elif candidate == redirect:
            return candidate
    return None


def resolve(valid: list[str], root_url: str | None) -> list[str]:
    out = []
    for uri in valid:
        if uri.startswith("/") and root_url:
            uri = root_url.rstrip("/") + uri
        out.append(uri)
    return out


def verify_redirect_uri(
    valid: list[str], redirect: str | None, root_url: str | None = None
) -> str | None:
    """The redirect URI to use, or None if it is not registered."""
    valid = resolve(valid, root_url)
    if redirect is None:
        plain = [v for v in valid if not v.endswith("*")]
        return plain[0] if len(valid) == 1 and plain else None
    if not valid:
        return None
    parts = urlsplit(redirect)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        return None
    allow_wildcards = "@" not in parts.netloc and ".." not in parts.path
    if _matches(valid, redirect, allow_wildcards) is not None:
        return redirect
    if redirect.startswith((INSTALLED_APP_URL, INSTALLED_APP_LOOPBACK)):
        colon = redirect.find(":", len(INSTALLED_APP_URL))
        if colon >= 0:
            rest = redirect.find("/", colon)
            stripped = redirect[:colon] + (redirect[rest:] if rest >= 0 else "")
            if _matches(valid, stripped, allow_wildcards) is not None:
                return redirect
    return None


def post_logout_uris(client_rep: dict) -> list[str]:
    raw = (client_rep.get("attributes") or {}).get("post.logout.redirect.uris") or ""
    out: list[str] = []
    for item in raw.split("##"):
        item = item.strip()
        if item == "+":
            out += list(client_rep.get("redirectUris") or [])
        elif item and item != "-":
            out.append(item)
    return out
