"""`python -m tokenadmin.devstack.keycloak` stops on SIGTERM, Keycloak with it, within seconds.

Runs the real command on a stand-in distribution (a kc.sh that answers the discovery document),
so it checks the wrapper's own signal handling without booting Keycloak.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tokenadmin.devstack import processes
from tokenadmin.devstack.keycloak import KEYCLOAK_VERSION

ROOT = Path(__file__).resolve().parents[2]

FAKE_KC_SH = """\
#!{python}
# Stands in for kc.sh start-dev: answers realm master's discovery document on --http-port.
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(next(a for a in sys.argv if a.startswith("--http-port=")).split("=")[1])


class Discovery(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{{}}")


HTTPServer(("127.0.0.1", port), Discovery).serve_forever()
"""


def test_sigterm_stops_the_wrapper_and_keycloak(tmp_path):
    home = tmp_path / "cache" / "keycloak" / f"keycloak-{KEYCLOAK_VERSION}"
    (home / "lib" / "quarkus").mkdir(parents=True)
    (home / "lib" / "quarkus" / "build-system.properties").write_text("")
    (home / "bin").mkdir()
    kc_sh = home / "bin" / "kc.sh"
    kc_sh.write_text(textwrap.dedent(FAKE_KC_SH).format(python=sys.executable))
    kc_sh.chmod(0o755)
    port = processes.free_port()
    wrapper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenadmin.devstack.keycloak",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "run"),
        ],
        cwd=ROOT,
        env={**os.environ, "TOKENADMIN_CACHE_DIR": str(tmp_path / "cache")},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        processes.wait_for_port(port, wrapper, timeout_s=30)
        time.sleep(0.5)  # past wait_until_ready, into the wait for Keycloak's exit
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=20) == 0
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
    assert not processes.port_is_open(port), "Keycloak outlived its wrapper"
