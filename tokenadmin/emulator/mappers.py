"""A client's protocol mappers: kept as Keycloak keeps them, and the audience mapper applied.

Keycloak's `oidc-audience-mapper` adds a client id (`included.client.audience`) or any text
(`included.custom.audience`) to the access token's `aud` when `access.token.claim` is true:
how a script's own client (a CLI, a service account) gets tokens meant for another client.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tokenadmin.emulator.admin_common import admin_event, admin_realm, find_client, require
from tokenadmin.emulator.http import Ctx, HttpError, Router, empty, json_response
from tokenadmin.emulator.store import new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client

router = Router()
M = "/admin/realms/{realm}/clients/{cu}/protocol-mappers/models"
AUDIENCE_MAPPER = "oidc-audience-mapper"


def mapper_make(rep: dict[str, Any]) -> dict[str, Any]:
    """A mapper as Keycloak stores it: an id, the protocol, string config values."""
    if not rep.get("name") or not rep.get("protocolMapper"):
        raise HttpError(400, {"errorMessage": "Protocol mapper name and type are required"})
    return {
        "id": str(rep.get("id") or new_id()),
        "name": str(rep["name"]),
        "protocol": str(rep.get("protocol") or "openid-connect"),
        "protocolMapper": str(rep["protocolMapper"]),
        "consentRequired": bool(rep.get("consentRequired", False)),
        "config": {str(k): str(v) for k, v in (rep.get("config") or {}).items()},
    }


def mapped_audiences(client: Client) -> list[str]:
    """The audiences the client's audience mappers add to its access tokens."""
    found = []
    for mapper in client.protocol_mappers:
        config = mapper["config"]
        if mapper["protocolMapper"] != AUDIENCE_MAPPER:
            continue
        if config.get("access.token.claim", "true") != "true":
            continue
        value = config.get("included.client.audience") or config.get("included.custom.audience")
        if value:
            found.append(value)
    return found


@router.route(M, "GET")
def mappers_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    client = find_client(realm, ctx.params["cu"])
    return json_response(copy.deepcopy(client.protocol_mappers))


@router.route(M, "POST")
def mapper_create(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-clients")
    client = find_client(realm, ctx.params["cu"])
    mapper = mapper_make(ctx.json_object())
    if any(m["name"] == mapper["name"] for m in client.protocol_mappers):
        raise HttpError(
            409, {"errorMessage": f"Protocol mapper exists with same name: {mapper['name']}"}
        )
    client.protocol_mappers.append(mapper)
    path = f"clients/{client.id}/protocol-mappers/models/{mapper['id']}"
    admin_event(ctx, realm, "CREATE", "PROTOCOL_MAPPER", path, mapper)
    return empty(201, {"Location": f"{ctx.base_url}/admin/realms/{realm.name}/{path}"})
