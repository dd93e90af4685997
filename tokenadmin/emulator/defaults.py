"""Keycloak 26 default representations: realm fields, client fields, built-in role names."""

from __future__ import annotations

import copy
from typing import Any

# Top-level RealmRepresentation fields and their Keycloak 26 defaults (facts sheet §5).
REALM_DEFAULTS: dict[str, Any] = {
    "displayName": None,
    "displayNameHtml": None,
    "notBefore": 0,
    "defaultSignatureAlgorithm": "RS256",
    "revokeRefreshToken": False,
    "refreshTokenMaxReuse": 0,
    "accessTokenLifespan": 300,
    "accessTokenLifespanForImplicitFlow": 900,
    "ssoSessionIdleTimeout": 1800,
    "ssoSessionMaxLifespan": 36000,
    "ssoSessionIdleTimeoutRememberMe": 0,
    "ssoSessionMaxLifespanRememberMe": 0,
    "offlineSessionIdleTimeout": 2592000,
    "offlineSessionMaxLifespanEnabled": False,
    "offlineSessionMaxLifespan": 5184000,
    "clientSessionIdleTimeout": 0,
    "clientSessionMaxLifespan": 0,
    "clientOfflineSessionIdleTimeout": 0,
    "clientOfflineSessionMaxLifespan": 0,
    "accessCodeLifespan": 60,
    "accessCodeLifespanUserAction": 300,
    "accessCodeLifespanLogin": 1800,
    "actionTokenGeneratedByAdminLifespan": 43200,
    "actionTokenGeneratedByUserLifespan": 300,
    "oauth2DeviceCodeLifespan": 600,
    "oauth2DevicePollingInterval": 5,
    "enabled": True,
    "sslRequired": "external",
    "registrationAllowed": False,
    "registrationEmailAsUsername": False,
    "rememberMe": False,
    "verifyEmail": False,
    "loginWithEmailAllowed": True,
    "duplicateEmailsAllowed": False,
    "resetPasswordAllowed": False,
    "editUsernameAllowed": False,
    "bruteForceProtected": False,
    "permanentLockout": False,
    "maxTemporaryLockouts": 0,
    "bruteForceStrategy": "MULTIPLE",
    "maxFailureWaitSeconds": 900,
    "minimumQuickLoginWaitSeconds": 60,
    "waitIncrementSeconds": 60,
    "quickLoginCheckMilliSeconds": 1000,
    "maxDeltaTimeSeconds": 43200,
    "failureFactor": 30,
    "requiredCredentials": ["password"],
    "otpPolicyType": "totp",
    "otpPolicyAlgorithm": "HmacSHA1",
    "otpPolicyInitialCounter": 0,
    "otpPolicyDigits": 6,
    "otpPolicyLookAheadWindow": 1,
    "otpPolicyPeriod": 30,
    "otpPolicyCodeReusable": False,
    "otpSupportedApplications": ["totpAppFreeOTPName", "totpAppGoogleName", "totpAppMicrosoftAuthenticatorName"],
    "localizationTexts": {},
    "webAuthnPolicyRpEntityName": "keycloak",
    "webAuthnPolicySignatureAlgorithms": ["ES256", "RS256"],
    "webAuthnPolicyRpId": "",
    "webAuthnPolicyAttestationConveyancePreference": "not specified",
    "webAuthnPolicyAuthenticatorAttachment": "not specified",
    "webAuthnPolicyRequireResidentKey": "not specified",
    "webAuthnPolicyUserVerificationRequirement": "not specified",
    "webAuthnPolicyCreateTimeout": 0,
    "webAuthnPolicyAvoidSameAuthenticatorRegister": False,
    "webAuthnPolicyAcceptableAaguids": [],
    "webAuthnPolicyExtraOrigins": [],
    "browserSecurityHeaders": {
        "contentSecurityPolicyReportOnly": "",
        "xContentTypeOptions": "nosniff",
        "referrerPolicy": "no-referrer",
        "xRobotsTag": "none",
        "xFrameOptions": "SAMEORIGIN",
        "contentSecurityPolicy": "frame-src 'self'; frame-ancestors 'self'; object-src 'none';",
        "strictTransportSecurity": "max-age=31536000; includeSubDomains",
    },
    "smtpServer": {},
    "eventsEnabled": False,
    "eventsListeners": ["jboss-logging"],
    "enabledEventTypes": [],
    "adminEventsEnabled": False,
    "adminEventsDetailsEnabled": False,
    "identityProviders": [],
    "identityProviderMappers": [],
    "internationalizationEnabled": False,
    "supportedLocales": [],
    "browserFlow": "browser",
    "registrationFlow": "registration",
    "directGrantFlow": "direct grant",
    "resetCredentialsFlow": "reset credentials",
    "clientAuthenticationFlow": "clients",
    "dockerAuthenticationFlow": "docker auth",
    "firstBrokerLoginFlow": "first broker login",
    "userManagedAccessAllowed": False,
    "organizationsEnabled": False,
    "verifiableCredentialsEnabled": False,
    "adminPermissionsEnabled": False,
    "social": False,
    "updateProfileOnInitialSocialLogin": False,
    "cibaBackchannelTokenDeliveryMode": "poll",
    "cibaExpiresIn": 120,
    "cibaInterval": 5,
    "cibaAuthRequestedUserHint": "login_hint",
    "parRequestUriLifespan": 60,
    "attributes": {
        "cibaBackchannelTokenDeliveryMode": "poll",
        "cibaExpiresIn": "120",
        "cibaAuthRequestedUserHint": "login_hint",
        "parRequestUriLifespan": "60",
        "cibaInterval": "5",
        "realmReusableOtpCode": "false",
        "frontendUrl": "",
    },
}

# Fields accepted in a realm representation besides REALM_DEFAULTS (Keycloak accepts them,
# the emulator stores or ignores them).
REALM_OTHER_FIELDS = frozenset(
    """id realm defaultRole defaultRoles defaultGroups clients users roles groups clientScopes
    defaultDefaultClientScopes defaultOptionalClientScopes scopeMappings clientScopeMappings
    components requiredActions authenticationFlows authenticatorConfig keycloakVersion
    passwordPolicy emailTheme loginTheme accountTheme adminTheme defaultLocale
    federatedUsers userFederationProviders userFederationMappers protocolMappers
    applications oauthClients clientTemplates codeSecret privateKey publicKey certificate
    applicationScopeMappings clientPolicies clientProfiles otpPolicyCodeReusable
    webAuthnPolicyPasswordlessRpEntityName webAuthnPolicyPasswordlessSignatureAlgorithms
    webAuthnPolicyPasswordlessRpId webAuthnPolicyPasswordlessAttestationConveyancePreference
    webAuthnPolicyPasswordlessAuthenticatorAttachment webAuthnPolicyPasswordlessRequireResidentKey
    webAuthnPolicyPasswordlessUserVerificationRequirement webAuthnPolicyPasswordlessCreateTimeout
    webAuthnPolicyPasswordlessAvoidSameAuthenticatorRegister
    webAuthnPolicyPasswordlessAcceptableAaguids webAuthnPolicyPasswordlessExtraOrigins
    webAuthnPolicyPasswordlessPasskeysEnabled organizations identityProviderMappers
    firstBrokerLoginFlow eventsExpiration resetPasswordFlow""".split()
)

CLIENT_DEFAULTS: dict[str, Any] = {
    "name": None,
    "description": None,
    "rootUrl": None,
    "adminUrl": None,
    "baseUrl": None,
    "surrogateAuthRequired": False,
    "enabled": True,
    "alwaysDisplayInConsole": False,
    "clientAuthenticatorType": "client-secret",
    "redirectUris": [],
    "webOrigins": [],
    "notBefore": 0,
    "bearerOnly": False,
    "consentRequired": False,
    "standardFlowEnabled": True,
    "implicitFlowEnabled": False,
    "directAccessGrantsEnabled": True,
    "serviceAccountsEnabled": False,
    "publicClient": False,
    "frontchannelLogout": True,
    "protocol": "openid-connect",
    "attributes": {},
    "authenticationFlowBindingOverrides": {},
    "fullScopeAllowed": True,
    "nodeReRegistrationTimeout": -1,
    "defaultClientScopes": ["web-origins", "acr", "roles", "profile", "basic", "email"],
    "optionalClientScopes": ["address", "phone", "offline_access", "organization", "microprofile-jwt"],
}

CLIENT_OTHER_FIELDS = frozenset(
    """id clientId secret registrationAccessToken access protocolMappers
    authorizationServicesEnabled authorizationSettings origin registeredNodes
    directGrantsOnly useTemplateConfig useTemplateScope useTemplateMappers clientTemplate
    defaultRoles""".split()
)

# Roles of realm-management (and of each <realm>-realm client in master).
MANAGEMENT_ROLES = (
    "view-realm",
    "manage-realm",
    "view-users",
    "manage-users",
    "query-users",
    "query-groups",
    "query-clients",
    "query-realms",
    "view-clients",
    "manage-clients",
    "view-events",
    "manage-events",
    "view-identity-providers",
    "manage-identity-providers",
    "view-authorization",
    "manage-authorization",
    "create-client",
    "impersonation",
)

# Keycloak's composites: a check for the key is passed by any of the values.
IMPLIED_BY: dict[str, tuple[str, ...]] = {
    "view-realm": ("manage-realm",),
    "view-users": ("manage-users",),
    "query-users": ("view-users", "manage-users"),
    "query-groups": ("view-users", "manage-users"),
    "view-clients": ("manage-clients",),
    "query-clients": ("view-clients", "manage-clients"),
    "view-events": ("manage-events",),
    "view-identity-providers": ("manage-identity-providers",),
    "view-authorization": ("manage-authorization",),
}

ACCOUNT_ROLES = (
    "manage-account",
    "manage-account-links",
    "view-profile",
    "view-applications",
    "view-consent",
    "manage-consent",
    "delete-account",
    "view-groups",
)


def realm_defaults() -> dict[str, Any]:
    return copy.deepcopy(REALM_DEFAULTS)


def client_defaults() -> dict[str, Any]:
    return copy.deepcopy(CLIENT_DEFAULTS)
