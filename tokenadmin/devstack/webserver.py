"""The demo's web server: Django's development server with a fixed pool of threads.

runserver starts a new thread per connection, and each thread opens its own database
connection (kept CONN_MAX_AGE seconds) with its own SQLite page cache and memory map, in its
own malloc arena: at a million sessions the process grew from 63 to 897 MB over 60 requests. A
fixed pool keeps at most POOL_THREADS connections, reused request after request, so memory
stops growing once each thread has warmed its cache. A browser keeps idle connections open for
minutes; each would hold a pool thread, so an idle one is closed after IDLE_S.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.servers.basehttp import WSGIServer

# A page, its htmx fragments and a poll at once; each thread holds one database connection (at
# a million sessions about 60-90 MB with its page cache and memory map).
POOL_THREADS = 4
# Seconds a kept-alive connection may wait for its next request before it is closed: a
# browser keeps up to six open, and an idle one must not hold a thread from the others.
IDLE_S = 2


class PooledWSGIServer(WSGIServer):
    """Hands each accepted connection to one of POOL_THREADS long-lived threads."""

    def __init__(self, server_address: Any, handler: type, *args: Any, **kwargs: Any) -> None:
        handler = type("IdleClosingHandler", (handler,), {"timeout": IDLE_S})
        super().__init__(server_address, handler, *args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="web")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        # As socketserver.ThreadingMixIn.process_request_thread does for its own threads.
        try:
            self.finish_request(request, client_address)
        except TimeoutError:
            pass  # a kept-alive connection left idle for IDLE_S: closed below
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)
