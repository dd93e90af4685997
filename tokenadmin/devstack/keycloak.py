"""Real Keycloak 26 on this machine: fetched through Maven, cached outside git, run in dev mode.

``python -m tokenadmin.devstack.keycloak --host 127.0.0.1 --port P`` runs Keycloak's own
server distribution (``org.keycloak:keycloak-quarkus-dist``) with ``kc.sh start-dev`` in the
foreground, the same interface as ``python -m tokenadmin.emulator``: realm ``master`` only, its
bootstrap admin from ``KC_BOOTSTRAP_ADMIN_USERNAME`` / ``KC_BOOTSTRAP_ADMIN_PASSWORD`` (default
admin/admin, as the emulator), until SIGTERM or Ctrl-C, which stop Keycloak and its JVM.

The first run downloads the zip (Maven's local repository keeps it), unpacks it into the cache
and runs Quarkus' build step once (~45 s): a later run copies that prepared folder and boots in
~20 s without touching the network. Each run gets its own copy under ``var/keycloak/<port>``
(its H2 database, transaction logs and temporary files), fresh unless ``--keep-data``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import processes

# The one Keycloak version of the project: tests, the demo on real Keycloak, docker/compose.yaml
# (its image tag) and docs/keycloak-parity.md follow it. The newest 26.x Maven Central serves.
KEYCLOAK_VERSION = "26.7.3"
MAVEN_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"
ROOT = Path(__file__).resolve().parents[2]
FETCH_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 600
READY_TIMEOUT_S = 240


class KeycloakSetupError(RuntimeError):
    """Something this machine lacks to run real Keycloak; the message says what and how to fix."""


@dataclass(frozen=True)
class PreparedDistribution:
    home: Path
    fetch_s: float  # 0 when the cache already held the zip
    build_s: float  # 0 when the cache already held the built distribution


def cache_dir() -> Path:
    """Where the unpacked distribution lives: outside git, shared by every checkout."""
    configured = os.environ.get("TOKENADMIN_CACHE_DIR")
    base = Path(configured) if configured else Path.home() / ".cache" / "tokenadmin"
    return base / "keycloak"


def java_command() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise KeycloakSetupError(
            "Keycloak needs Java 17, 21 or 25 and none was found (no `java` on PATH, no "
            "JAVA_HOME). Install one, e.g. `apt-get install openjdk-17-jre-headless`."
        )
    return java


def maven_zip_path() -> Path:
    group, artifact, version, _ = MAVEN_ARTIFACT.split(":")
    repository = Path(os.environ.get("MAVEN_REPOSITORY", Path.home() / ".m2" / "repository"))
    return repository / Path(*group.split(".")) / artifact / version / f"{artifact}-{version}.zip"


def distribution_zip() -> tuple[Path, float]:
    """The distribution zip from Maven's local repository, fetched from Maven Central if absent."""
    zip_path = maven_zip_path()
    if zip_path.exists():
        return zip_path, 0.0
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KeycloakSetupError(
            f"Keycloak {KEYCLOAK_VERSION} is not cached yet and Maven is missing to fetch it: "
            "install it (`apt-get install maven`) and run again."
        )
    print(f"Fetching {MAVEN_ARTIFACT} through Maven (once)…", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "dependency:get",
                f"-Dartifact={MAVEN_ARTIFACT}",
                "-Dtransitive=false",
            ],
            capture_output=True,
            text=True,
            timeout=FETCH_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise KeycloakSetupError(
            f"Maven did not fetch {MAVEN_ARTIFACT} within {FETCH_TIMEOUT_S} s: is Maven Central "
            "reachable from this machine?"
        ) from exc
    if result.returncode != 0 or not zip_path.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise KeycloakSetupError(
            f"Maven could not fetch {MAVEN_ARTIFACT} (is Maven Central reachable?):\n{tail}"
        )
    return zip_path, time.perf_counter() - started


def distribution_prepare() -> PreparedDistribution:
    """The unpacked, built distribution in the cache; fetches, unpacks and builds what is missing.

    Built once because Quarkus' build step takes most of a cold start; a run then copies it.
    Unpacked and built beside its final place and renamed into it, so a run that stops half-way
    or a second checkout preparing at the same time never sees a half-built folder.
    """
    home = cache_dir() / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / "lib" / "quarkus" / "build-system.properties").exists():
        return PreparedDistribution(home=home, fetch_s=0.0, build_s=0.0)
    java_command()  # says what is missing before a long download
    zip_path, fetch_s = distribution_zip()
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = home.parent / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    print(
        f"Unpacking and building Keycloak {KEYCLOAK_VERSION} (once)…", file=sys.stderr, flush=True
    )
    started = time.perf_counter()
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(staging)
    unpacked = staging / f"keycloak-{KEYCLOAK_VERSION}"
    for script in (unpacked / "bin").glob("*.sh"):
        script.chmod(0o755)
    # kc.sh cannot `build` for dev mode: start-dev builds on its first boot, so boot it once on
    # a spare port and keep the built folder, without the database that boot created.
    port = processes.free_port()
    log_path = staging / "build.log"
    process = keycloak_start(host="127.0.0.1", port=port, home=unpacked, log_path=log_path)
    try:
        wait_until_ready(
            process,
            base_url=f"http://127.0.0.1:{port}",
            log_path=log_path,
            timeout_s=BUILD_TIMEOUT_S,
        )
    except KeycloakSetupError as exc:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-10:])
        shutil.rmtree(staging, ignore_errors=True)
        raise KeycloakSetupError(f"Keycloak's first boot failed ({exc}):\n{tail}") from exc
    finally:
        processes.stop(process, timeout_s=30)
    shutil.rmtree(unpacked / "data", ignore_errors=True)
    try:
        unpacked.rename(home)
    except OSError:
        if not home.exists():  # not a concurrent preparation that won the race
            raise
    shutil.rmtree(staging, ignore_errors=True)
    return PreparedDistribution(home=home, fetch_s=fetch_s, build_s=time.perf_counter() - started)


def run_home(*, port: int, data_dir: Path | None, keep_data: bool) -> Path:
    """This run's own copy of the prepared distribution (its database lives inside it)."""
    prepared = distribution_prepare()
    home = data_dir or ROOT / "var" / "keycloak" / str(port)
    if keep_data and (home / "bin" / "kc.sh").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(prepared.home), str(home)], check=True)
    return home


def keycloak_command(*, home: Path, host: str, port: int, management_port: int) -> list[str]:
    return [
        str(home / "bin" / "kc.sh"),
        "start-dev",
        f"--http-host={host}",
        f"--http-port={port}",
        f"--http-management-port={management_port}",
        "--log-console-output=default",
    ]


def keycloak_start(
    *, host: str, port: int, home: Path, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start Keycloak in its own process group; returns at once (see wait_until_ready)."""
    java = java_command()
    child_env = {
        "KC_BOOTSTRAP_ADMIN_USERNAME": os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
        "KC_BOOTSTRAP_ADMIN_PASSWORD": os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin"),
        "JAVA": java,
        **(env or {}),
    }
    args = keycloak_command(home=home, host=host, port=port, management_port=processes.free_port())
    return processes.start(args, log_path=log_path, env=child_env)


def wait_until_ready(
    process: subprocess.Popen,
    *,
    base_url: str,
    log_path: Path,
    timeout_s: float = READY_TIMEOUT_S,
) -> float:
    """Seconds until realm master's discovery document answers; raises if Keycloak died.

    Only once this Keycloak's own log says it listens: another server that took the port
    first would answer the same URL.
    """
    started = time.perf_counter()
    url = f"{base_url}/realms/master/.well-known/openid-configuration"
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise KeycloakSetupError(f"Keycloak exited with {process.returncode} while starting")
        if b"Listening on:" not in _read_bytes(log_path):
            time.sleep(0.25)
            continue
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise KeycloakSetupError(f"Keycloak did not answer on {base_url} within {timeout_s:.0f} s")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def resident_memory_mb(pid: int) -> float:
    """Resident memory of a process and its children (kc.sh is a shell around the JVM)."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
        pending.extend(int(child) for child in children)
    return total_kb / 1024


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tokenadmin.devstack.keycloak",
        description=f"Run real Keycloak {KEYCLOAK_VERSION} (start-dev) in the foreground.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument(
        "--data-dir", type=Path, help="this run's Keycloak folder (default var/keycloak/PORT)"
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the database of the last run"
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="fetch and build into the cache, then exit"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        prepared = distribution_prepare()
        if prepared.fetch_s or prepared.build_s:
            print(
                f"Keycloak {KEYCLOAK_VERSION} prepared in {prepared.home}: fetched in "
                f"{prepared.fetch_s:.1f} s, unpacked and built in {prepared.build_s:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        if args.prepare_only:
            return 0
        if processes.port_is_open(args.port, args.host):
            raise KeycloakSetupError(f"{args.host}:{args.port} is already in use")
        home = run_home(port=args.port, data_dir=args.data_dir, keep_data=args.keep_data)
        log_path = home / "keycloak.log"
        process = keycloak_start(host=args.host, port=args.port, home=home, log_path=log_path)
    except KeycloakSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def stop(_signum: int, _frame: object) -> None:
        # Only unwind: stopping Keycloak in here would wait on the Popen that process.wait()
        # below is blocked in, whose lock is not reentrant, and hang for ever.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    base_url = f"http://{args.host}:{args.port}"
    try:
        try:
            boot_s = wait_until_ready(process, base_url=base_url, log_path=log_path)
        except KeycloakSetupError as exc:
            processes.stop(process, timeout_s=30)
            log_tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            print(f"error: {exc}; its log ({log_path}) ends:\n{log_tail}", file=sys.stderr)
            return 1
        print(
            f"Keycloak {KEYCLOAK_VERSION} ready on {base_url} in {boot_s:.1f} s, "
            f"{resident_memory_mb(process.pid):.0f} MB resident; log {log_path}",
            file=sys.stderr,
            flush=True,
        )
        process.wait()
        print(f"Keycloak exited with {process.returncode}", file=sys.stderr)
        return process.returncode or 0
    finally:
        processes.stop(process, timeout_s=30)


if __name__ == "__main__":
    raise SystemExit(main())
