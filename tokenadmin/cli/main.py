"""The `tokenadmin` console script: options, examples, and exit codes."""

import argparse
import sys
from collections.abc import Callable

from .errors import BAD_INPUT, CliError
from .lifespans import lifespans_apply, lifespans_export, lifespans_plan
from .login import login_device, logout
from .revoke import revoke_apply, revoke_plan
from .sessions import sessions_list

EXIT_CODES = """exit codes:
  0 ok, 2 bad input, 3 denied (not signed in, or Keycloak's roles refuse),
  4 conflict (changed since read, plan already applied), 5 server or Keycloak unreachable

Scripts (CI) may pass an access token in TOKENADMIN_TOKEN (e.g. from Keycloak's client
credentials grant, its audience including tokenadmin) and the server in TOKENADMIN_SERVER."""

Handler = Callable[[argparse.Namespace], int]


def _command(
    commands: argparse._SubParsersAction, name: str, handler: Handler, summary: str, examples: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", help="tokenadmin's URL (default: the one you signed in to)")
    parser.set_defaults(handler=handler)
    return parser


def _login(args: argparse.Namespace) -> int:
    server = (args.server or "").rstrip("/")
    if not server:
        raise CliError("Give --server URL (tokenadmin's address).", BAD_INPUT)
    credentials = login_device(server, args.realm, out=lambda text: print(text, flush=True))
    print(f"Signed in to {credentials.server} (realm {credentials.realm}).")
    return 0


def _logout(args: argparse.Namespace) -> int:
    print(logout())
    return 0


def _add_account_commands(commands: argparse._SubParsersAction) -> None:
    login = _command(
        commands,
        "login",
        _login,
        "Sign in through Keycloak (device grant): open the URL shown and enter the code.",
        "  tokenadmin login --server https://tokenadmin.example.com\n"
        "  tokenadmin login --server http://127.0.0.1:8000 --realm master\n",
    )
    login.add_argument("--realm", help="the Keycloak realm to sign in to (default: the server's)")
    _command(
        commands,
        "logout",
        _logout,
        "End the Keycloak session of the cached sign-in and forget its tokens.",
        "  tokenadmin logout\n",
    )


def _group(
    commands: argparse._SubParsersAction, name: str, summary: str
) -> argparse._SubParsersAction:
    parser = commands.add_parser(name, help=summary, description=summary)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def _add_sessions(commands: argparse._SubParsersAction) -> None:
    sessions = _group(commands, "sessions", "A realm's sessions (tokenadmin's index).")
    listing = _command(
        sessions,
        "list",
        sessions_list,
        "List a realm's sessions, filtered as on the sessions page.",
        "  tokenadmin sessions list --realm mlflow\n"
        "  tokenadmin sessions list --realm mlflow --user alice --output json\n"
        "  tokenadmin sessions list --realm master --client api-client --output csv > s.csv\n",
    )
    listing.add_argument("--realm", required=True)
    listing.add_argument("--user", default="", help="a username, exactly")
    listing.add_argument("--client", default="", help="a clientId, exactly")
    listing.add_argument("--search", default="", help="a search, as on the sessions page")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (default all)")
    listing.add_argument("--output", choices=("table", "json", "csv"), default="table")


def _add_revoke(commands: argparse._SubParsersAction) -> None:
    revoke = _group(commands, "revoke", "Revoke sessions: plan first, then apply the plan.")
    plan = _command(
        revoke,
        "plan",
        revoke_plan,
        "Plan a revocation: the exact count, a sample, an expiry. Nothing is revoked.",
        "  tokenadmin revoke plan --realm mlflow --user alice\n"
        "  tokenadmin revoke plan --realm master --client api-client --offline\n"
        "  tokenadmin revoke plan --realm mlflow --all --output json\n",
    )
    plan.add_argument("--realm", required=True)
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--user",
        help="every session of this user (username or id), online and offline, read live",
    )
    which.add_argument("--client", help="every session of this clientId")
    which.add_argument("--session", help="one session id")
    which.add_argument("--all", action="store_true", help="every session of the realm")
    plan.add_argument("--offline", action="store_true", help="offline sessions too / instead")
    plan.add_argument("--output", choices=("text", "json"), default="text")
    apply = _command(
        revoke,
        "apply",
        revoke_apply,
        "Apply a plan: start its job and wait for it (once; again says already applied).",
        "  tokenadmin revoke apply PLAN_ID --reason 'left the company' --ticket HR-42\n"
        "  tokenadmin revoke apply PLAN_ID --reason 'laptop stolen' --no-wait\n",
    )
    apply.add_argument("plan_id", metavar="PLAN_ID")
    apply.add_argument("--reason", required=True, help="why (kept in the ledger)")
    apply.add_argument("--ticket", default="")
    apply.add_argument("--realm", help="the plan's realm (read from the plan id by default)")
    apply.add_argument("--no-wait", action="store_true", help="start the job and return")


def _add_lifespans(commands: argparse._SubParsersAction) -> None:
    lifespans = _group(commands, "lifespans", "A realm's token and session lifespans as a file.")
    export = _command(
        lifespans,
        "export",
        lifespans_export,
        "Print a realm's lifespans (YAML or JSON) with the version they were read at.",
        "  tokenadmin lifespans export --realm mlflow > mlflow.yaml\n"
        "  tokenadmin lifespans export --realm mlflow --format json\n",
    )
    export.add_argument("--realm", required=True)
    export.add_argument("--format", choices=("yaml", "json"), default="yaml")
    for name, handler, summary in (
        ("plan", lifespans_plan, "Show the diff and its impact on sessions; write nothing."),
        ("apply", lifespans_apply, "Write the file's values (refused if Keycloak changed)."),
    ):
        action = _command(
            lifespans, name, handler, summary, f"  tokenadmin lifespans {name} mlflow.yaml\n"
        )
        action.add_argument("file", metavar="FILE", help="an exported file, edited (- for stdin)")
        action.add_argument("--realm", help="another realm than the file's")
        action.add_argument("--accept-warnings", action="store_true")


def parser_build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenadmin",
        description="tokenadmin from the command line: sessions, revocation, lifespans.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_account_commands(commands)
    _add_sessions(commands)
    _add_revoke(commands)
    _add_lifespans(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser_build().parse_args(argv)
    try:
        return int(args.handler(args))
    except CliError as exc:
        print(f"tokenadmin: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
