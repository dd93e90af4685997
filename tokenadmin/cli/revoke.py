"""`tokenadmin revoke plan` and `revoke apply`: plan → apply, waiting for the job."""

import argparse
import base64
import json
import sys
import time
import zlib
from typing import Any

from .api import Api, part
from .errors import BAD_INPUT, UNREACHABLE, CliError
from .output import print_json, short_time
from .progress import Progress

POLL_S = 0.5


def _plan_body(args: argparse.Namespace) -> dict[str, Any]:
    """The API's plan request for the options given."""
    if args.session:
        return {
            "kind": "selection",
            "sessions": [args.session + (":offline" if args.offline else "")],
        }
    if args.client:
        return {"kind": "client", "client": args.client, "offline": args.offline}
    if args.all:
        return {"kind": "realm", "offline": args.offline}
    # Read live from Keycloak: a session begun since the index's last refresh is a target too.
    return {"kind": "user", "user": args.user, "offline": True}


def _plan_print(plan: dict[str, Any]) -> None:
    count = "unknown (index never refreshed)" if plan["count"] is None else plan["count"]
    print(f"Plan for {plan['realm']}: {plan['label']}")
    print(f"Targets: {count} ({plan['offline_count']} offline)")
    for target in plan["sample"]:
        kind = "offline" if target["offline"] else "online"
        print(f"  {target['session_id']}  {target['username']}  {kind}")
    for excluded in plan["excluded"]:
        print(f"Left alone: {excluded.get('session_id', '')} ({excluded.get('why', '')})")
    for risk in plan["residual_risk"]:
        print(f"Note: {risk}")
    print(f"Expires: {short_time(plan['expires_at'])} UTC")
    print(f"Plan id: {plan['plan_id']}")
    print(f"Apply with: tokenadmin revoke apply {plan['plan_id']} --reason '...'")


def revoke_plan(args: argparse.Namespace) -> int:
    api = Api.connect(args.server)
    body = _plan_body(args)
    plan = api.json("POST", f"/revocation/realms/{part(args.realm)}/plans", body=body)
    if args.output == "json":
        print_json(plan)
    else:
        _plan_print(plan)
    return 0


def plan_realm(plan_id: str) -> str:
    """The realm a plan id names: its signed payload (Django signing, compressed) is readable;
    the server checks the signature, this only saves typing --realm."""
    payload = plan_id.split(":", 1)[0]
    try:
        compressed, payload = payload.startswith("."), payload.lstrip(".")
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        data = json.loads(zlib.decompress(raw) if compressed else raw)
        return str(data["realm"])
    except (ValueError, KeyError, TypeError, zlib.error):
        raise CliError(
            "This is not a plan id from `revoke plan` (or give --realm).", BAD_INPUT
        ) from None


def _wait(api: Api, job: dict[str, Any]) -> dict[str, Any]:
    progress = Progress(sys.stderr, label=f"job {job['id']}")
    while job["state"] not in ("done", "stopped"):
        progress.show(done=job["total"] - job["pending"], total=job["total"], listed=job["listed"])
        time.sleep(POLL_S)
        job = api.json("GET", f"/revocation/jobs/{job['id']}")
    progress.show(done=job["total"] - job["pending"], total=job["total"], listed=job["listed"])
    progress.end()
    return job


def revoke_apply(args: argparse.Namespace) -> int:
    api = Api.connect(args.server)
    realm = args.realm or plan_realm(args.plan_id)
    body = {"plan_id": args.plan_id, "reason": args.reason, "ticket": args.ticket}
    job = api.json("POST", f"/revocation/realms/{part(realm)}/plans/apply", ok=(202,), body=body)
    print(f"Job {job['id']} started: {job['label']}")
    if args.no_wait:
        return 0
    job = _wait(api, job)
    print(
        f"Job {job['id']} {job['state']}: {job['done']} revoked, {job['already_gone']} already "
        f"gone, {job['failed']} failed."
    )
    if job["state"] == "stopped":
        raise CliError(f"The job stopped: {job['stopped_reason']}", UNREACHABLE)
    if job["failed"]:
        raise CliError("Some sessions could not be revoked (see the job's items).", UNREACHABLE)
    return 0
