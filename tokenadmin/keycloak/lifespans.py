"""Realm and client lifespan settings: read-modify-write of the representations."""

from ._base import GatewayBase


class LifespanCalls(GatewayBase):
    pass
