"""A fixed-size pool of nameko standalone RPC proxies, shared by the gateway's threads.

A proxy per request (or per thread) leaks reply queues and connections; a fixed pool bounds
them. A proxy is not thread-safe, so each request checks one out. A proxy that timed out or
lost its connection is replaced rather than reused: nameko's standalone proxy keeps stray
late replies forever.

Each call carries the request's correlation id (messaging/logs.py) in nameko's context data,
so the service's log lines name it and every RPC the service makes in turn passes it on. A
standalone proxy's context data is fixed when it is made; a pooled one serves many requests,
so the pool writes the id into the proxy's worker context at each checkout.
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from messaging.logs import current_correlation_id
from services.remote_errors import ServiceError

log = logging.getLogger(__name__)

# kombu looks for the optional librabbitmq on every Connection() it builds, and nameko builds
# one per RPC it publishes: each failed import walks sys.path (~0.1 ms, ~0.3 ms with the rest
# of the Connection). Marked absent, the import fails at once; when installed, it is used.
if importlib.util.find_spec("librabbitmq") is None:
    sys.modules.setdefault("librabbitmq", None)  # type: ignore[arg-type]


def _carry_correlation_id(runner) -> None:
    # nameko sends `worker_ctx.data` as its `nameko.*` headers; the standalone proxy keeps its
    # worker context as `_worker_ctx` (nameko 2.14), shared with the proxies it hands out.
    data = runner._worker_ctx.data
    found = current_correlation_id()
    if found:
        data["correlation_id"] = found
    else:
        data.pop("correlation_id", None)


class RpcPoolExhausted(Exception):
    """No proxy became free in time: the gateway is overloaded."""


class RpcProxyPool:
    def __init__(
        self, amqp_uri: str, size: int = 8, timeout: float = 10.0, checkout_timeout: float = 10.0
    ):
        self._config = {"AMQP_URI": amqp_uri}
        self.size = size
        self.timeout = timeout
        self.checkout_timeout = checkout_timeout
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    def _new_proxy(self):
        runner = ClusterRpcProxy(self._config, timeout=self.timeout)
        return runner, runner.start()

    @contextmanager
    def proxy(self) -> Iterator:
        entry = self._checkout()
        healthy = True
        try:
            try:
                _carry_correlation_id(entry[0])
            except Exception:  # noqa: BLE001 - the call goes on without the id
                log.warning("RPC: cannot carry the correlation id", exc_info=True)
            yield entry[1]
        except (RemoteError, ServiceError):
            # The service answered (a domain refusal, rebuilt by nameko as a ServiceError, or
            # its own error as a RemoteError): the proxy is fine.
            raise
        except BaseException:
            # A timeout, or a connection that broke under the proxy, which then fails every
            # later call in its own way (amqp's 404 on redeclaring its reply queue, `None`
            # for a connection): only a new proxy is sure to work.
            healthy = False
            raise
        finally:
            if healthy:
                self._idle.put(entry)
            else:
                self._discard(entry)

    def _checkout(self):
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            may_create = self._created < self.size
            if may_create:
                self._created += 1
        if may_create:
            try:
                return self._new_proxy()
            except Exception:
                with self._lock:
                    self._created -= 1
                raise
        try:
            return self._idle.get(timeout=self.checkout_timeout)
        except queue.Empty:
            raise RpcPoolExhausted(f"all {self.size} RPC proxies busy") from None

    def _discard(self, entry) -> None:
        with self._lock:
            self._created -= 1
        try:
            entry[0].stop()
        except Exception:  # noqa: BLE001 - the connection is already broken
            pass

    def close(self) -> None:
        while True:
            try:
                entry = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(entry)
