"""A URL part for a Keycloak identifier that may hold any character, "/" included: a clientId
such as "https://app.example.org/saml" or "team/tool" is legal in Keycloak.

`to_url` escapes "%" and "/"; reverse() then quotes the "%" once more, so the browser sends
"team%252Ftool", the server decodes it once to "team%2Ftool" (one path segment, as `str`
matches) and `to_python` gives back "team/tool".
"""

from urllib.parse import unquote

from django.urls import register_converter


class KeycloakIdConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        return value.replace("%", "%25").replace("/", "%2F")


register_converter(KeycloakIdConverter, "kcid")
