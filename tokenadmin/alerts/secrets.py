"""Sealing transport URLs and signing secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with
a key derived from SECRET_KEY by HKDF, so a database dump alone does not reveal them. Rotating
SECRET_KEY makes the sealed values unreadable: the transports then say so and ask for them again."""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"tokenadmin alerts transport secrets v1"


class SecretUnreadable(Exception):
    """A sealed value that the current SECRET_KEY cannot open."""


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def secret_seal(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def secret_open(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The stored URL or secret cannot be read (was SECRET_KEY changed?): set it again."
        ) from exc
