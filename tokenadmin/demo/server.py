"""The demo's web server: Django's development server with a fixed pool of threads.

runserver starts a new thread per request, and each thread opens its own database connection
(kept CONN_MAX_AGE seconds) with its own SQLite page cache and memory map, in its own malloc
arena: at a million sessions the process grew from 63 to 897 MB over 60 requests. A fixed pool
keeps at most POOL_THREADS connections, reused request after request, so memory stops growing
once each thread has warmed its cache.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.servers.basehttp import WSGIServer

# Enough for a page, its htmx fragments and a poll or two at once; each holds one connection.
POOL_THREADS = 4


class PooledWSGIServer(WSGIServer):
    """Hands each accepted connection to one of POOL_THREADS long-lived threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="web")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        # As socketserver.ThreadingMixIn.process_request_thread does for its own threads.
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)
