"""A throwaway RabbitMQ node bound to 127.0.0.1, for tests and `make run`.

Every node gets its own node name, ports, epmd, cookie and data directory, so two
test sessions on one machine never share a broker (stray consumers would steal events).

Nobody else on the machine may use it: it has no `guest` user, but one user with a random
password kept in `credentials.json` (0600, reused when the node's data is kept, as `make run`
keeps var/rabbitmq), and a random Erlang cookie (0400), both written by `write_secret`.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from devenv.ports import free_port, wait_for_port
from devenv.secret_files import write_secret

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def _install_hint() -> str:
    return (
        "rabbitmq-server is not installed: run `make deps-system` (apt-get install rabbitmq-server)"
    )


@dataclass
class RabbitNode:
    base_dir: Path
    amqp_port: int = 0
    dist_port: int = 0
    epmd_port: int = 0
    node_name: str = ""
    process: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)
    username: str = "platform"
    password: str = ""
    cookie: str = ""
    """The Erlang cookie; empty: a random one per start. Nodes of one cluster share theirs."""
    owns_epmd: bool = True
    """Whether stopping this node also stops its epmd: not when cluster nodes share one."""

    @property
    def amqp_uri(self) -> str:
        return self.vhost_uri("")

    def vhost_uri(self, vhost: str) -> str:
        # The password is hex: nothing in it needs quoting in a URI.
        return f"amqp://{self.username}:{self.password}@127.0.0.1:{self.amqp_port}/{vhost}"

    def _credentials(self) -> bool:
        """The node's user and password: generated once (True), then read back (False)."""
        path = self.base_dir / "credentials.json"
        if path.exists():
            saved = json.loads(path.read_text())
            self.username, self.password = saved["username"], saved["password"]
            return False
        self.password = secrets.token_hex(24)
        write_secret(path, json.dumps({"username": self.username, "password": self.password}))
        return True

    def _environment(self) -> dict:
        home = self.base_dir / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(home),
            RABBITMQ_NODENAME=self.node_name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.amqp_port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_MNESIA_BASE=str(self.base_dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base_dir / "log"),
            RABBITMQ_CONFIG_FILE=str(self.base_dir / "rabbitmq"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.base_dir / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base_dir / "enabled_plugins"),
            RABBITMQ_PLUGINS_EXPAND_DIR=str(self.base_dir / "plugins-expand"),
            RABBITMQ_PID_FILE=str(self.base_dir / "rabbit.pid"),
            # The distribution port listens on loopback only, like AMQP and epmd.
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def start(self, timeout: float = 90.0) -> RabbitNode:
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            raise RuntimeError(_install_hint())
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("home", "mnesia", "log"):
            (self.base_dir / sub).mkdir(exist_ok=True)
        self.amqp_port = self.amqp_port or free_port()
        self.dist_port = self.dist_port or free_port()
        self.epmd_port = self.epmd_port or free_port()
        self.node_name = self.node_name or f"rabbit{self.amqp_port}@localhost"
        # Data kept from before nodes had credentials (make run keeps var/rabbitmq) still
        # has guest, and not our user.
        new_credentials = self._credentials()
        predates_credentials = (
            new_credentials and (self.base_dir / "mnesia" / self.node_name).exists()
        )
        # A fresh node creates this user instead of guest; the file names the password.
        write_secret(
            self.base_dir / "rabbitmq.conf",
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            "log.console = false\n"
            "log.file.level = warning\n"
            # A test box has little free disk at times; the broker must not block
            # publishers.
            "disk_free_limit.absolute = 50MB\n"
            f"default_user = {self.username}\n"
            f"default_pass = {self.password}\n"
            "default_user_tags.administrator = true\n",
        )
        (self.base_dir / "advanced.config").write_text("[].\n")
        (self.base_dir / "enabled_plugins").write_text("[].\n")
        write_secret(
            self.base_dir / "home" / ".erlang.cookie", self.cookie or secrets.token_hex(32), 0o400
        )
        self.env = self._environment()
        log = open(self.base_dir / "server.out", "wb")
        self.process = subprocess.Popen(
            [str(RABBIT_BIN / "rabbitmq-server")],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.base_dir,  # crash dumps (MnesiaCore.*) land here, not in the caller's tree
        )
        self._await_startup(self.process, timeout)
        if predates_credentials:
            self._replace_guest()
        return self

    def _replace_guest(self) -> None:
        """A node whose data predates its credentials: our user in, guest out. (rabbitmqctl
        takes the password only as an argument: this once, it is briefly in `ps`.)"""
        if self.ctl("add_user", self.username, self.password).returncode != 0:
            self.ctl("change_password", self.username, self.password).check_returncode()
        self.ctl("set_user_tags", self.username, "administrator").check_returncode()
        self.ctl("set_permissions", "-p", "/", self.username, ".*", ".*", ".*").check_returncode()
        self.ctl("delete_user", "guest")  # absent already: nothing to do

    def ctl(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node_name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _await_startup(self, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"rabbitmq-server exited with {process.returncode}; see "
                    f"{self.base_dir / 'server.out'} and {self.base_dir / 'log'}"
                )
            try:
                # `ping` answers before AMQP listens; await_startup waits for the app itself.
                if self.ctl("await_startup", "--timeout", "10", timeout=20).returncode == 0:
                    wait_for_port(self.amqp_port, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"RabbitMQ did not start within {timeout}s ({self.base_dir})")

    def add_vhost(self, name: str) -> str:
        self.ctl("add_vhost", name).check_returncode()
        self.ctl("set_permissions", "-p", name, self.username, ".*", ".*", ".*").check_returncode()
        return self.vhost_uri(name)

    def stop_app(self) -> None:
        """Stops the broker but keeps the Erlang node, as a broker outage looks to clients."""
        self.ctl("stop_app").check_returncode()

    def start_app(self) -> None:
        self.ctl("start_app").check_returncode()
        wait_for_port(self.amqp_port, timeout=30)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.ctl("stop", timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._kill_epmd()
        self.process = None

    def kill(self) -> None:
        """Stops the node at once (SIGKILL to its process group), without a clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        self._kill_epmd()
        self.process = None

    def _kill_epmd(self) -> None:
        if not self.owns_epmd:
            return
        # Our epmd listens on its own port, so `epmd -kill` on that port stops only ours.
        epmd = shutil.which("epmd") or next(
            iter(glob.glob("/usr/lib/erlang/erts-*/bin/epmd")), None
        )
        if epmd:
            subprocess.run(
                [epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=10
            )
