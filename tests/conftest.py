"""Session-wide real servers: one throwaway RabbitMQ node and one PostgreSQL cluster, both on
127.0.0.1 in temporary directories, started on first use and stopped at the end."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from devenv.postgres import PostgresCluster
from devenv.rabbitmq import RabbitNode


@contextmanager
def throwaway_rabbit(prefix: str = "test-rabbit-"):
    base = Path(tempfile.mkdtemp(prefix=prefix))
    node = RabbitNode(base).start()
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbit_node():
    with throwaway_rabbit() as node:
        yield node


@pytest.fixture
def own_rabbit():
    """A node of the test's own, for tests that stop or break the broker."""
    with throwaway_rabbit("test-rabbit-own-") as node:
        yield node


@pytest.fixture
def amqp_uri(rabbit_node):
    """A fresh vhost per test, so no consumer of another test can steal its messages."""
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    uri = rabbit_node.add_vhost(vhost)
    yield uri
    rabbit_node.ctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="test-pg-"))).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_dsn(pg_cluster):
    """A fresh database per test."""
    return pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
