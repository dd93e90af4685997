"""Per-realm metadata: realm info, OpenID discovery document, JWKS."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tokenadmin.emulator.http import Ctx, Router, json_response
from tokenadmin.emulator.issuing import issuer
from tokenadmin.emulator.oidc import P, oidc_realm

router = Router()


@router.route("/realms/{realm}", "GET")
def realm_info(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    iss = issuer(ctx, realm)
    return json_response(
        {
            "realm": realm.name,
            "public_key": realm.keys.public_key_b64(),
            "token-service": f"{iss}/protocol/openid-connect",
            "account-service": f"{iss}/account",
            "tokens-not-before": realm.int_setting("notBefore"),
        }
    )


@router.route("/realms/{realm}/.well-known/openid-configuration", "GET")
def discovery(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    iss = issuer(ctx, realm)
    base = f"{iss}/protocol/openid-connect"
    algs = [
        "PS384",
        "RS384",
        "EdDSA",
        "ES384",
        "HS256",
        "HS512",
        "ES256",
        "RS256",
        "HS384",
        "ES512",
        "PS256",
        "PS512",
        "RS512",
    ]
    auth_methods = [
        "private_key_jwt",
        "client_secret_basic",
        "client_secret_post",
        "tls_client_auth",
        "client_secret_jwt",
    ]
    enc_algs = [
        "ECDH-ES+A256KW",
        "ECDH-ES+A192KW",
        "ECDH-ES+A128KW",
        "RSA-OAEP",
        "RSA-OAEP-256",
        "RSA1_5",
        "ECDH-ES",
    ]
    enc_encs = ["A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]
    endpoints = {
        "token_endpoint": f"{base}/token",
        "introspection_endpoint": f"{base}/token/introspect",
        "userinfo_endpoint": f"{base}/userinfo",
        "end_session_endpoint": f"{base}/logout",
        "revocation_endpoint": f"{base}/revoke",
        "device_authorization_endpoint": f"{base}/auth/device",
        "registration_endpoint": f"{iss}/clients-registrations/openid-connect",
        "pushed_authorization_request_endpoint": f"{base}/ext/par/request",
        "backchannel_authentication_endpoint": f"{base}/ext/ciba/auth",
    }
    body: dict[str, Any] = {
        "issuer": iss,
        "authorization_endpoint": f"{base}/auth",
        **{
            k: endpoints[k]
            for k in (
                "token_endpoint",
                "introspection_endpoint",
                "userinfo_endpoint",
                "end_session_endpoint",
            )
        },
        "frontchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "jwks_uri": f"{base}/certs",
        "check_session_iframe": f"{base}/login-status-iframe.html",
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "implicit",
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:uma-ticket",
            "urn:openid:params:grant-type:ciba",
        ],
        "acr_values_supported": ["0", "1"],
        "response_types_supported": [
            "code",
            "none",
            "id_token",
            "token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token",
        ],
        "subject_types_supported": ["public", "pairwise"],
        "prompt_values_supported": ["none", "login", "consent"],
        "id_token_signing_alg_values_supported": algs,
        "id_token_encryption_alg_values_supported": enc_algs,
        "id_token_encryption_enc_values_supported": enc_encs,
        "userinfo_signing_alg_values_supported": [*algs, "none"],
        "userinfo_encryption_alg_values_supported": enc_algs,
        "userinfo_encryption_enc_values_supported": enc_encs,
        "request_object_signing_alg_values_supported": [*algs, "none"],
        "request_object_encryption_alg_values_supported": enc_algs,
        "request_object_encryption_enc_values_supported": enc_encs,
        "response_modes_supported": [
            "query",
            "fragment",
            "form_post",
            "query.jwt",
            "fragment.jwt",
            "form_post.jwt",
            "jwt",
        ],
        "registration_endpoint": endpoints["registration_endpoint"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "dpop_signing_alg_values_supported": [
            "PS384",
            "RS384",
            "EdDSA",
            "ES384",
            "ES256",
            "RS256",
            "ES512",
            "PS256",
            "PS512",
            "RS512",
        ],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "authorization_signing_alg_values_supported": algs,
        "authorization_encryption_alg_values_supported": enc_algs,
        "authorization_encryption_enc_values_supported": enc_encs,
        "claims_supported": [
            "aud",
            "sub",
            "iss",
            "auth_time",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "acr",
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "scopes_supported": [
            "openid",
            "basic",
            "web-origins",
            "acr",
            "roles",
            "profile",
            "email",
            "address",
            "phone",
            "offline_access",
            "microprofile-jwt",
            "organization",
        ],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": True,
        "revocation_endpoint": endpoints["revocation_endpoint"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "device_authorization_endpoint": endpoints["device_authorization_endpoint"],
        "backchannel_token_delivery_modes_supported": ["poll", "ping"],
        "backchannel_authentication_endpoint": endpoints["backchannel_authentication_endpoint"],
        "backchannel_authentication_request_signing_alg_values_supported": [
            "PS384",
            "RS384",
            "EdDSA",
            "ES384",
            "ES256",
            "RS256",
            "ES512",
            "PS256",
            "PS512",
            "RS512",
        ],
        "require_pushed_authorization_requests": False,
        "pushed_authorization_request_endpoint": endpoints["pushed_authorization_request_endpoint"],
        "mtls_endpoint_aliases": {
            k: v for k, v in endpoints.items() if k != "end_session_endpoint"
        },
        "authorization_response_iss_parameter_supported": True,
    }
    return json_response(body)


@router.route(P + "/certs", "GET")
def certs(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    return json_response(realm.keys.jwks())
