"""Container healthcheck: GET /health on the local gunicorn, exit 0 only on {"status": "ok"}.

The slim image has no curl, so this uses the standard library. It sends the first of
DJANGO_ALLOWED_HOSTS as the Host header, or Django would answer 400 to "127.0.0.1".
"""

import http.client
import json
import os
import sys


def probe_host() -> str:
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0] if hosts else "localhost"
    if host == "*":
        return "localhost"
    return host.lstrip(".")  # ".example.com" allows example.com itself


def main() -> int:
    port = int(os.environ.get("TOKENADMIN_HEALTH_PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", "/health", headers={"Host": probe_host()})
        response = connection.getresponse()
        body = response.read()
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if response.status != 200:
        print(f"unhealthy: HTTP {response.status}", file=sys.stderr)
        return 1
    try:
        ok = json.loads(body).get("status") == "ok"
    except ValueError:
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
