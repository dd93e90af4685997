"""Admin login through Keycloak (mozilla-django-oidc), matching Django users on `sub`."""

import logging

import jwt
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from requests import RequestException

from tokenadmin.keycloak.oidc import TokenSet

from .models import User
from .session_tokens import tokens_store

logger = logging.getLogger(__name__)

# How far Keycloak's clock may run ahead of or behind ours when the ID token's iat and exp are
# checked. Without it, PyJWT refuses a token "issued in the future" when Keycloak's clock is a
# second ahead, and the sign-in failed.
CLOCK_SKEW_LEEWAY_S = 60


class KeycloakBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        # Keycloak down or refusing the code: the callback view then sends the browser to
        # the "sign-in failed" page instead of a 500.
        try:
            return super().authenticate(request, **kwargs)
        except RequestException as exc:
            logger.warning("Keycloak login failed: %s", type(exc).__name__)
            return None
        except jwt.InvalidTokenError as exc:
            # Signed, but not valid now (clocks further apart than the leeway, say).
            logger.warning("Keycloak's ID token was refused: %s", type(exc).__name__)
            return None

    def get_payload_data(self, token: str, key: jwt.PyJWK) -> dict:
        """The verified claims of the ID token: mozilla-django-oidc's check (the algorithm we
        expect, the signature), with CLOCK_SKEW_LEEWAY_S for iat and exp."""
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("The ID token is not signed with the expected algorithm.")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                options={"verify_aud": False},
                leeway=CLOCK_SKEW_LEEWAY_S,
            )
        except jwt.DecodeError as exc:
            raise SuspiciousOperation("JWS token verification failed.") from exc

    def get_token(self, payload: dict) -> dict:
        # Keep the whole token response: the base class only passes on access and ID tokens,
        # and we need the refresh token and lifetimes to renew the login server-side.
        self._token_response = super().get_token(payload)
        return self._token_response

    def store_tokens(self, access_token: str, id_token: str) -> None:
        tokens_store(self.request.session, TokenSet.from_response(self._token_response))

    def verify_claims(self, claims: dict) -> bool:
        # Keycloak's bootstrap admin has no email; `sub` is what identifies an admin.
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict):
        return User.objects.filter(keycloak_sub=claims["sub"])

    def create_user(self, claims: dict) -> User:
        user = User(keycloak_sub=claims["sub"])
        return self._update_from_claims(user, claims)

    def update_user(self, user: User, claims: dict) -> User:
        return self._update_from_claims(user, claims)

    @staticmethod
    def _update_from_claims(user: User, claims: dict) -> User:
        user.username = _unique_username(claims.get("preferred_username") or claims["sub"], user)
        user.email = claims.get("email", "")
        user.first_name = claims.get("given_name", "")[:150]
        user.last_name = claims.get("family_name", "")[:150]
        user.set_unusable_password()
        user.save()
        return user


def _unique_username(wanted: str, user: User) -> str:
    """Usernames are unique in Django but not across Keycloak realms; suffix on collision."""
    name = wanted[:140]
    candidate, n = name, 1
    while User.objects.filter(username=candidate).exclude(pk=user.pk).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate
