"""Realm keys (RS256 signing, RSA-OAEP encryption, HS512 for refresh tokens) and compact JWTs."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _int_b64(number: int) -> str:
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@dataclass
class RsaKey:
    kid: str
    private: rsa.RSAPrivateKey
    cert_der: bytes
    alg: str
    use: str

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kid": self.kid,
            "kty": "RSA",
            "alg": self.alg,
            "use": self.use,
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
            "x5c": [base64.b64encode(self.cert_der).decode("ascii")],
            "x5t": b64url(hashlib.sha1(self.cert_der).digest()),  # noqa: S324 - JWK thumbprint
            "x5t#S256": b64url(hashlib.sha256(self.cert_der).digest()),
        }


@dataclass
class RealmKeys:
    sig: RsaKey
    enc: RsaKey
    hmac_kid: str
    hmac_secret: bytes

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.sig.jwk(), self.enc.jwk()]}

    def public_key_b64(self) -> str:
        der = self.sig.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")


def _rsa_key(realm_name: str, alg: str, use: str) -> RsaKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, realm_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    return RsaKey(
        kid=b64url(secrets.token_bytes(32)),
        private=private,
        cert_der=cert.public_bytes(serialization.Encoding.DER),
        alg=alg,
        use=use,
    )


_KEY_CACHE: dict[str, RealmKeys] = {}


def realm_keys(realm_name: str) -> RealmKeys:
    """Keys per realm name, kept across resets so resetting stays fast."""
    keys = _KEY_CACHE.get(realm_name)
    if keys is None:
        keys = RealmKeys(
            sig=_rsa_key(realm_name, "RS256", "sig"),
            enc=_rsa_key(realm_name, "RSA-OAEP", "enc"),
            hmac_kid=secrets.token_hex(16),
            hmac_secret=secrets.token_bytes(64),
        )
        _KEY_CACHE[realm_name] = keys
    return keys


def sign_rs256(keys: RealmKeys, claims: dict[str, Any], typ: str = "JWT") -> str:
    header = {"alg": "RS256", "typ": typ, "kid": keys.sig.kid}
    signing_input = (
        f"{b64url(compact_json(header).encode())}.{b64url(compact_json(claims).encode())}"
    )
    signature = keys.sig.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def sign_hs512(keys: RealmKeys, claims: dict[str, Any]) -> str:
    header = {"alg": "HS512", "typ": "JWT", "kid": keys.hmac_kid}
    signing_input = (
        f"{b64url(compact_json(header).encode())}.{b64url(compact_json(claims).encode())}"
    )
    signature = hmac.new(keys.hmac_secret, signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{b64url(signature)}"


def unverified_claims(token: str) -> dict[str, Any] | None:
    try:
        _, payload, _ = token.split(".")
        claims = json.loads(b64url_decode(payload))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


# Tokens whose signature already checked out, per realm key: a bulk job sends the same
# bearer token thousands of times, and an RSA check on each would make the emulator, not the
# client, the bottleneck. Claims are still checked (exp, not-before, session) on every use.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 4096


def verify(keys: RealmKeys, token: str) -> dict[str, Any] | None:
    """Claims of a token signed by this realm (RS256 or HS512), else None. No time checks."""
    cache_key = (keys.sig.kid, token)
    cached = _VERIFIED.get(cache_key)
    if cached is not None:
        return dict(cached)
    claims = _verify_signature(keys, token)
    if claims is not None:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[cache_key] = dict(claims)
    return claims


def _verify_signature(keys: RealmKeys, token: str) -> dict[str, Any] | None:
    try:
        head_b64, payload_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(head_b64))
        signature = b64url_decode(sig_b64)
        signing_input = f"{head_b64}.{payload_b64}".encode()
        if header.get("alg") == "RS256":
            keys.sig.private.public_key().verify(
                signature, signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        elif header.get("alg") == "HS512":
            expected = hmac.new(keys.hmac_secret, signing_input, hashlib.sha512).digest()
            if not hmac.compare_digest(expected, signature):
                return None
        else:
            return None
        claims = json.loads(b64url_decode(payload_b64))
    except (ValueError, TypeError, InvalidSignature, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])
