"""Revocation calls: sign-outs, offline session and consent revokes, not-before, push."""

from ._base import GatewayBase


class RevocationCalls(GatewayBase):
    pass
