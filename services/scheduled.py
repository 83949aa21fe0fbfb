"""`@scheduled(job, interval)`: a nameko timer whose work runs once across replicas.

Each tick tries the job's lock (services/job_lock.py) without waiting: the replica that takes
it runs the worker, renewing the lock every ttl/3 while it runs, and releases it when the
worker ends; a replica that cannot take it skips the tick. The lock is named
`<service>.<job>`, from config `JOB_LOCK_URL` (else `STORE_URL`: lease rows in the store's
PostgreSQL schema, or file locks beside its SQLite file); `JOB_LEASE_SECONDS` (60) is a
lease's length. Config `SCHEDULE_INTERVALS` ({"<service>.<job>": seconds}) overrides an
interval (tests, benches).
"""

from __future__ import annotations

import logging
import time

import eventlet
from nameko.extensions import SharedExtension
from nameko.timer import Timer

from services.job_lock import JobLock, open_job_locks

log = logging.getLogger("services.scheduled")


class JobLocks(SharedExtension):
    """The container's job locks, opened once for all its scheduled entrypoints."""

    locks: JobLock | None = None

    def setup(self) -> None:
        config = self.container.config
        url = config.get("JOB_LOCK_URL") or config["STORE_URL"]
        self.ttl = float(config.get("JOB_LEASE_SECONDS", 60))
        self.locks = open_job_locks(url, ttl=self.ttl)

    def stop(self) -> None:
        if self.locks is not None:
            self.locks.close()

    def kill(self) -> None:
        self.stop()


class ScheduledJob(Timer):
    job_locks = JobLocks()

    def __init__(self, job: str, interval: float, **kwargs):
        self.job = job
        self.default_interval = interval
        self.renewer = None
        self.started = 0.0
        super().__init__(interval, **kwargs)

    @property
    def lock_name(self) -> str:
        return f"{self.container.service_name}.{self.job}"

    def setup(self) -> None:
        intervals = self.container.config.get("SCHEDULE_INTERVALS") or {}
        self.interval = float(intervals.get(self.lock_name, self.default_interval))

    def handle_timer_tick(self) -> None:
        locks = self.job_locks.locks
        assert locks is not None, "opened at setup"
        try:
            held = locks.acquire(self.lock_name)
        except Exception:  # noqa: BLE001 - the lock's database is away: skip this tick
            log.warning("job %s: its lock could not be asked for", self.lock_name, exc_info=True)
            held = False
        if not held:
            log.debug("job %s runs elsewhere: tick skipped", self.lock_name)
            self.worker_complete.send()
            return
        log.debug("job %s: lock taken", self.lock_name)
        self.started = time.monotonic()
        self.renewer = self.container.spawn_managed_thread(self._renew)
        super().handle_timer_tick()

    def _renew(self) -> None:
        """Renews every ttl/3 while the worker runs. A renewal that cannot ask (the lease's
        database is away) is tried again each second until the lease would have run out:
        only then, or when another replica holds it, is it lost."""
        locks = self.job_locks.locks
        assert locks is not None
        ttl = self.job_locks.ttl
        held_until = time.monotonic() + ttl
        while True:
            eventlet.sleep(ttl / 3)
            while True:
                asked = time.monotonic()
                try:
                    held = locks.renew(self.lock_name)
                except Exception:  # noqa: BLE001 - ask again until the lease runs out
                    if asked + 1 < held_until:
                        eventlet.sleep(1)
                        continue
                    held = False
                break
            if not held:
                log.error("job %s: its lock was lost while running", self.lock_name)
                return
            held_until = asked + ttl

    def handle_result(self, worker_ctx, result, exc_info):
        if self.renewer is not None:
            self.renewer.kill()
            self.renewer = None
        log.debug("job %s: done, lock released", self.lock_name)
        try:
            assert self.job_locks.locks is not None
            # Held until a whole interval from the start has passed: replicas whose timers
            # tick at other moments then run the job once an interval between them, not once
            # each.
            elapsed = time.monotonic() - self.started
            self.job_locks.locks.release(self.lock_name, hold_for=self.interval - elapsed)
        except Exception:  # noqa: BLE001 - it expires by itself
            log.warning("job %s: its lock was not released", self.lock_name, exc_info=True)
        return super().handle_result(worker_ctx, result, exc_info)


scheduled = ScheduledJob.decorator
