"""Three RabbitMQ nodes clustered on loopback, for `make run-cluster` and the cluster tests.

Each node is a `RabbitNode` with its own node name, AMQP and distribution ports and data
directory; they share what a cluster must share: one Erlang cookie, one epmd (a node finds its
peers through the epmd of their host, so on one host all must ask the same one) and one user
(users are cluster-wide: a joining node takes the first node's). The nodes start at once, then
the others `join_cluster` the first (the pattern of ../shared/lab/rabbit-cluster.sh).

Classic queues live on one node. The platform's own queues are quorum queues (a majority of
nodes carries them), but nameko's RPC queues are classic, declared by nameko itself: the
request queues (`rpc-<service>`) and the reply queues (`rpc.reply-<proxy>-<uuid>`, durable,
and declared again under the same name when a proxy reconnects; on a dead home node that
declare fails with 404 NOT_FOUND until the node is back). A policy mirrors both on every
node, so the death of the node they were declared on leaves them served (RabbitMQ 3.10 still
has classic mirroring).

A client reaches the cluster through one URI listing every node, `amqp://a;amqp://b;amqp://c`,
which kombu (nameko) reads as fail-over alternates: `uri_for(i)` starts the list at a different
node for each process, so the clients spread over the nodes and a node's death moves only its
share of them.
"""

from __future__ import annotations

import json
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from devenv.ports import free_port
from devenv.rabbitmq import RabbitNode
from devenv.secret_files import write_secret

MIRROR_RPC_POLICY = ("mirror-rpc", "^rpc[-.]", '{"ha-mode":"all","ha-sync-mode":"automatic"}')


@dataclass
class RabbitCluster:
    base_dir: Path
    size: int = 3
    name_prefix: str = ""
    nodes: list[RabbitNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base_dir = Path(self.base_dir)
        prefix = self.name_prefix or f"prepaid{secrets.token_hex(3)}-"
        cookie = secrets.token_hex(32)
        epmd_port = free_port()
        password = secrets.token_hex(24)
        for n in range(1, self.size + 1):
            node_dir = self.base_dir / f"node{n}"
            node_dir.mkdir(parents=True, exist_ok=True)
            # Every node the same user, as the cluster will have it once they have joined.
            write_secret(
                node_dir / "credentials.json",
                json.dumps({"username": "platform", "password": password}),
            )
            self.nodes.append(
                RabbitNode(
                    node_dir,
                    node_name=f"{prefix}{n}@localhost",
                    amqp_port=free_port(),
                    dist_port=free_port(),
                    epmd_port=epmd_port,
                    cookie=cookie,
                    owns_epmd=False,
                )
            )

    @property
    def amqp_uris(self) -> list[str]:
        return [node.amqp_uri for node in self.nodes]

    def uri_for(self, index: int) -> str:
        """Every node's URI, the list starting at node `index % size`: a process's fail-over
        list, spread so that not every client connects to the first node."""
        uris = self.amqp_uris
        start = index % len(uris)
        return ";".join(uris[start:] + uris[:start])

    @property
    def amqp_uri(self) -> str:
        return self.uri_for(0)

    def start(self, timeout: float = 120.0) -> RabbitCluster:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.start(timeout), self.nodes))
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.stop_app()
            node.ctl("join_cluster", first.node_name).check_returncode()
            node.start_app()
        first.ctl(
            "set_policy", "--apply-to", "queues", MIRROR_RPC_POLICY[0], *MIRROR_RPC_POLICY[1:]
        ).check_returncode()
        return self

    def running_nodes(self) -> list[str]:
        """The node names the cluster reports running, asked of any node that answers."""
        for node in self.nodes:
            if node.process is None:
                continue
            done = node.ctl("cluster_status", "--formatter", "json")
            if done.returncode == 0:
                return sorted(json.loads(done.stdout)["running_nodes"])
        return []

    def kill_node(self, index: int) -> None:
        """SIGKILL to one node (no clean shutdown), as a crashed machine looks to the others."""
        self.nodes[index].kill()

    def restart_node(self, index: int, timeout: float = 120.0) -> None:
        """Starts a killed node again on its data: it rejoins the cluster by itself."""
        self.nodes[index].start(timeout)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        self._kill_epmd()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()
        self._kill_epmd()

    def _kill_epmd(self) -> None:
        if self.nodes:
            last = self.nodes[-1]
            last.owns_epmd = True  # the shared epmd goes once every node has stopped
            last._kill_epmd()
            last.owns_epmd = False

    def remove(self) -> None:
        shutil.rmtree(self.base_dir, ignore_errors=True)
