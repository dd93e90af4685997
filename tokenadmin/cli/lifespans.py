"""`tokenadmin lifespans export | plan | apply`: a realm's lifespans as a file under review.

The file holds the realm, the version it was read at and the values (Keycloak's field names,
seconds, or durations such as "10h"). plan and apply send the version as If-Match: a file made
from values that have changed since cannot overwrite them (exit 4).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .api import Api, part
from .errors import BAD_INPUT, CONFLICT, CliError
from .http import problem_error

HEADER = (
    "# tokenadmin lifespans of realm {realm}. Edit the values (seconds, or durations such as\n"
    "# 10h), then: tokenadmin lifespans plan FILE; tokenadmin lifespans apply FILE.\n"
    "# version: what these values were read at; apply refuses if Keycloak changed since.\n"
)


def lifespans_export(args: argparse.Namespace) -> int:
    api = Api.connect(args.server)
    data = api.json("GET", f"/lifespans/realms/{part(args.realm)}")
    document = {"realm": data["realm"], "version": data["version"], "values": data["values"]}
    if args.format == "json":
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        import yaml

        sys.stdout.write(HEADER.format(realm=data["realm"]))
        sys.stdout.write(yaml.safe_dump(document, sort_keys=False))
    return 0


def lifespans_file_read(path: str) -> dict[str, Any]:
    """The realm, version and values of an exported file (YAML or JSON); exit 2 if it is not."""
    import yaml

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        document = yaml.safe_load(text)  # JSON is YAML too
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror}.", BAD_INPUT) from None
    except yaml.YAMLError as exc:
        raise CliError(f"{path} is not YAML or JSON: {exc}", BAD_INPUT) from None
    if not isinstance(document, dict):
        raise CliError(f"{path}: expected realm, version and values.", BAD_INPUT)
    missing = [k for k in ("realm", "version", "values") if not document.get(k)]
    if missing or not isinstance(document["values"], dict):
        raise CliError(f"{path}: missing {', '.join(missing) or 'values'}.", BAD_INPUT)
    return document


def _put(args: argparse.Namespace, *, dry_run: bool) -> dict[str, Any]:
    document = lifespans_file_read(args.file)
    realm = args.realm or str(document["realm"])
    api = Api.connect(args.server)
    answer = api.call(
        "PUT",
        f"/lifespans/realms/{part(realm)}",
        body={
            "values": document["values"],
            "dry_run": dry_run,
            "accept_warnings": args.accept_warnings,
        },
        headers={"If-Match": f'"{document["version"]}"'},
    )
    if answer.status == 412:
        raise CliError(
            f"Conflict: the lifespans of {realm} changed in Keycloak since this file was "
            "exported. Export again and redo your edits.",
            CONFLICT,
        )
    if answer.status != 200:
        error = problem_error(answer)
        error.message = error.message.replace(
            "Send accept_warnings: true", "Pass --accept-warnings"
        )
        raise error
    return answer.json()


def _result_print(result: dict[str, Any]) -> None:
    for change in result["changes"]:
        print(f"  {change['label']}: {change['old_text']} -> {change['new_text']}")
    for warning in result["warnings"]:
        print(f"Warning: {warning}")
    impact = result.get("impact")
    if impact:
        print(
            f"Impact on {impact['sessions']} indexed sessions: {impact['shortened']} shortened, "
            f"{impact['lengthened']} lengthened, {impact['ended_at_once']} ended at once, "
            f"{impact['expire_within_hour']} expiring within an hour."
        )


def lifespans_plan(args: argparse.Namespace) -> int:
    result = _put(args, dry_run=True)
    if not result["changes"]:
        print(f"No changes to the lifespans of {result['realm']}.")
        return 0
    print(f"Changes to the lifespans of {result['realm']} (nothing written):")
    _result_print(result)
    return 0


def lifespans_apply(args: argparse.Namespace) -> int:
    result = _put(args, dry_run=False)
    if not result["changes"]:
        print(f"No changes to the lifespans of {result['realm']}.")
        return 0
    state = "Applied" if result["applied"] else "Not applied"
    print(f"{state} to {result['realm']} (version {result['version']}):")
    _result_print(result)
    return 0
