"""A throwaway PostgreSQL cluster on 127.0.0.1 with its own data directory and port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devenv.ports import free_port


def _bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]),
    )
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is not installed: run `make deps-system` (apt-get install postgresql)"
        )
    return Path(candidates[-1]).parent


def _as_owner(cmd: list[str], user: str | None) -> list[str]:
    # initdb and postgres refuse to run as root, so root runs them as the postgres user.
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@dataclass
class PostgresCluster:
    base_dir: Path
    port: int = 0
    user: str | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def start(self) -> PostgresCluster:
        bindir = _bin_dir()
        self.port = self.port or free_port()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.base_dir, pw.pw_uid, pw.pw_gid)
        run = lambda cmd: subprocess.run(  # noqa: E731
            _as_owner(cmd, self.user), check=True, capture_output=True, text=True, cwd="/"
        )
        run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.base_dir / "server.log"),
                "-o",
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.base_dir} -c max_connections=200 "
                "-c shared_buffers=64MB",
                "start",
            ]
        )
        return self

    def create_database(self, name: str) -> str:
        subprocess.run(
            [
                str(_bin_dir() / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return self.dsn(name)

    def stop(self) -> None:
        if not self.data_dir.exists():
            return
        subprocess.run(
            _as_owner(
                [
                    str(_bin_dir() / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                self.user,
            ),
            capture_output=True,
            cwd="/",
        )
        shutil.rmtree(self.base_dir, ignore_errors=True)
