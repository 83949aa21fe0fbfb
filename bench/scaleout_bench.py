"""Scale-out on this machine, each figure beside its baseline in this one run, on one
throwaway RabbitMQ node:

* confirms through HTTP with one gateway and one escrow, then with two of each: the escrow's
  replicas are competing consumers on its one RPC queue and share one SQLite store file (WAL;
  a commit takes the file's write lock), and the clients are spread over the two gateways
  (each its own state files, one signing key). Per process kind, the CPU seconds each phase
  took per 1,000 confirms say where the time goes: two cores bound it;
* the same confirm load with the escrow on PostgreSQL (a throwaway server, devenv/postgres.py,
  fsync on) against the SQLite store, one replica each.

Cards and holds are made through HTTP before each phase's clock starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.escrow_bench import CLIENTS, Api, Shop, start_gateway
from devenv.postgres import PostgresCluster
from devenv.rabbitmq import RabbitNode
from tests.support.harness import start_service, stop, wait_until

CONFIRMS = 1_500
WARMUP = CLIENTS * 2
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line names `text` (the broker's beam names its directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _with_children(pids: list[int]) -> list[int]:
    """The processes and their children now (PostgreSQL's backends, one per connection)."""
    found = list(pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent in pids:
                found.append(int(entry.name))
    return found


class Phase:
    """One measured configuration: its gateways' shops and the processes to account."""

    def __init__(self, shops: list[Shop], kinds: dict[str, list[int]]):
        self.shops, self.kinds = shops, kinds

    def run(self, holds: list) -> tuple[float, dict[str, float]]:
        """Confirms per second over `holds` (client i on gateway i mod n), and CPU seconds
        per 1,000 confirms by process kind, this bench's clients as `driver`."""
        kinds = {**self.kinds, "driver": [os.getpid()]}
        before = {k: sum(_cpu_seconds(p) for p in pids) for k, pids in kinds.items()}
        lanes = threading.local()
        counter = iter(range(1_000_000))
        lock = threading.Lock()

        def confirm(hold) -> None:
            if not hasattr(lanes, "shop"):
                with lock:
                    lanes.shop = self.shops[next(counter) % len(self.shops)]
            lanes.shop.confirm(hold)

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(confirm, holds))
        rate = len(holds) / (time.perf_counter() - started)
        per_1000 = {
            k: (sum(_cpu_seconds(p) for p in pids) - before[k]) * 1000 / len(holds)
            for k, pids in kinds.items()
        }
        return rate, per_1000


def _holds(shop: Shop, count: int) -> list:
    return shop.holds(shop.buy(count))


def _where(per_1000: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in per_1000.items())


def _gateway(base: Path, uri: str, logs: list, processes: list) -> Api:
    process, url = start_gateway(base, uri, logs)
    processes.append(process)
    api = Api(url)
    wait_until(api.ready, timeout=120, interval=0.5, what="a gateway")
    return api


def run(report) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    node = RabbitNode(base / "rabbit")
    pg: PostgresCluster | None = None
    processes: list[subprocess.Popen] = []
    logs: list = []
    ok = False
    try:
        uri = node.start().amqp_uri
        broker = _pids_mentioning(str(base / "rabbit"))
        processes.append(start_service("merchant", base, uri))
        escrow_one = start_service("escrow", base, uri)
        processes.append(escrow_one)
        api_one = _gateway(base, uri, logs, processes)
        shop = Shop(api_one)
        holds = _holds(shop, WARMUP * 2 + CONFIRMS * 2)
        kinds = {"gateway": [processes[-1].pid], "escrow": [escrow_one.pid], "broker": broker}
        one = Phase([shop], kinds)
        one.run(holds[:WARMUP])
        single, single_cpu = one.run(holds[WARMUP : WARMUP + CONFIRMS])

        escrow_two = start_service("escrow", base, uri)  # same store file, same RPC queue
        processes.append(escrow_two)
        api_two = _gateway(base, uri, logs, processes)
        shop_two = Shop.__new__(Shop)
        shop_two.__dict__.update({**shop.__dict__, "api": api_two})
        two = Phase(
            [shop, shop_two],
            {
                "gateway": [kinds["gateway"][0], processes[-1].pid],
                "escrow": [escrow_one.pid, escrow_two.pid],
                "broker": broker,
            },
        )
        rest = holds[WARMUP + CONFIRMS :]
        two.run(rest[:WARMUP])
        double, double_cpu = two.run(rest[WARMUP:])
        report(
            f"confirms via HTTP, 2 gateways + 2 escrows ({CLIENTS} clients)",
            double,
            single,
            "/s",
            baseline="1 of each, SQLite store",
        )
        print(f"    CPU s per 1,000 confirms, 1 of each: {_where(single_cpu)}", flush=True)
        print(f"    CPU s per 1,000 confirms, 2 of each: {_where(double_cpu)}", flush=True)

        # PostgreSQL: the SQLite escrows leave the queue to one on a PostgreSQL store.
        stop(escrow_two)
        stop(escrow_one)
        # Its own directory: the server runs as `postgres`, which may not enter `base`.
        pg = PostgresCluster(Path(tempfile.mkdtemp(prefix="bench-pg-"))).start()
        pg.create_database("bench_escrow")
        escrow_pg = start_service(
            "escrow",
            base,
            uri,
            STORE_URL=f"postgresql://postgres@127.0.0.1:{pg.port}/bench_escrow?schema=escrow",
        )
        processes.append(escrow_pg)
        pg_shop = Shop(api_one)  # a fresh merchant: its cards are bought into PostgreSQL
        pg_holds = _holds(pg_shop, WARMUP + CONFIRMS)
        on_pg = Phase(
            [pg_shop],
            {
                "gateway": kinds["gateway"],
                "escrow": [escrow_pg.pid],
                "broker": broker,
                "postgres": _pids_mentioning(str(pg.base_dir)),
            },
        )
        on_pg.run(pg_holds[:WARMUP])  # the escrow's connections, and their backends, exist
        on_pg.kinds["postgres"] = _with_children(on_pg.kinds["postgres"])
        postgres, postgres_cpu = on_pg.run(pg_holds[WARMUP:])
        report(
            "confirms via HTTP, escrow on PostgreSQL",
            postgres,
            single,
            "/s",
            baseline="on SQLite, same load",
        )
        print(f"    CPU s per 1,000 confirms on PostgreSQL: {_where(postgres_cpu)}", flush=True)
        ok = True
    finally:
        for process in reversed(processes):
            stop(process)
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg.base_dir, ignore_errors=True)
        node.stop()
        for log in logs:
            log.close()
        if ok:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"  (logs kept in {base})", flush=True)
