"""python -m tokenadmin.emulator [--host H] [--port P] [--import-realm F ...] [--seed demo]."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import uvicorn

from tokenadmin.emulator.app import Emulator
from tokenadmin.emulator.seed import SeedConfig, read_realm_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tokenadmin.emulator", description="Keycloak 26 emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--import-realm", action="append", default=[], metavar="FILE")
    parser.add_argument("--seed", choices=["demo", "none"], default="none")
    parser.add_argument("--sessions", type=int, default=0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )
    imports = []
    for path in args.import_realm:
        imports.extend(read_realm_file(path))
    started = time.perf_counter()
    config = SeedConfig.from_env(demo=args.seed == "demo", imports=imports, sessions=args.sessions)
    app = Emulator(config)
    logging.getLogger("tokenadmin.emulator").info(
        "seeded %s in %.1fs; listening on http://%s:%s",
        ", ".join(sorted(app.store.realms)),
        time.perf_counter() - started,
        args.host,
        args.port,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        lifespan="off",
        log_level="warning",
        timeout_keep_alive=30,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
