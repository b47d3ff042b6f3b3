"""Forget upload slots that did not become a package in time, so a long-running server does
not keep their bytes.

An upload slot (``POST /files/…``) stays open for ``ServeSettings.upload_expiry`` seconds
(24 h by default), far longer than any upload takes: the client may send its parts, complete
them and call ``upload/go`` (again, say with ``republish``) until then. After that a slot that
did not become a live package is forgotten with what it holds on disk: an unfinished one with
its joined file and the parts kept in files of their own (a multipart upload abandoned
half-way can hold hundreds of MB), a finished one (never used, or refused with 409 because
the version exists) with its blob, unless another row needs the same bytes.

The check runs whenever a slot is opened and, so that a quiet server frees its disk too, every
``interval`` seconds. Each check examines the unfinished slots (one indexed query) and the
finished ones that expired since the previous check; older ones were examined then, or at
start by ``Storage.recover``. A slot whose part or ``complete`` is running right now is left
for the next check. Several instances on one PostgreSQL take turns (an advisory lock: one
checks, the others skip that round); a slot whose instance was killed is forgotten here, by
age, not at any start (another instance may be serving it). On a shared database the
parts of one upload reach several instances and only the one that completes it drops its join
at once: every JOIN_CHECK seconds each instance drops its joins of uploads completed elsewhere
(``drop_finished_joins``, run by ``app``). The periodic task (``app._sweep_periodically``) also deletes the blobs no
row needs (``Storage.sweep_orphans``) and probes for disk space (``server.space``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from gopush.server.assembly import Assemblies
from gopush.server.db import EXPIRY_LOCK
from gopush.server.records import FileSlot
from gopush.server.storage import Storage, rfc3339

log = logging.getLogger("gopush.server")

MAX_INTERVAL = 3600.0  # seconds between two periodic checks, whatever the expiry


class SlotExpiry:
    """Forgets upload slots opened more than ``expiry`` seconds ago that did not become a
    live package."""

    def __init__(self, storage: Storage, assemblies: Assemblies, expiry: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.assemblies = assemblies
        self.expiry = expiry  # seconds
        self.clock = clock
        # Finished slots opened before this were examined (at start, by Storage.recover).
        self._examined_until = rfc3339(clock() - expiry)

    @property
    def interval(self) -> float:
        """Return the seconds between periodic checks: half the expiry, at most an hour, so
        an expired slot goes at most that late."""
        return min(self.expiry / 2, MAX_INTERVAL)

    def sweep(self) -> int:
        """Forget the expired slots no request is working on; return how many.

        Call it from the event loop: a part or ``complete`` marks its assembly busy or takes
        its lock before its first ``await``, so a slot in use is never pulled from under it;
        a slot that became a package meanwhile is kept (``Storage.forget_slot`` checks).
        Instances sharing a database (PostgreSQL) take turns: one checks at a time
        (``EXPIRY_LOCK``), the others skip the check (0).
        """
        with self.storage.db.exclusively(EXPIRY_LOCK) as mine:
            if not mine:
                log.info("upload expiry skipped: another instance is checking")
                return 0
            forgotten = self._sweep()
        if self.storage.db.shared:
            log.info("upload expiry: %d expired uploads forgotten", forgotten)
        return forgotten

    async def drop_finished_joins(self) -> int:
        """Drop this process's joins (``server.assembly``) of uploads that are finished or
        forgotten, by whatever instance; return how many. Only another instance can finish
        a slot whose join is here (this one's ``complete`` drops its own), so on a shared
        database the instance that took the first parts of an upload whose ``complete`` went
        elsewhere would otherwise keep their copy (100 MiB for the official CLI's first
        part) until the scratch sweep, and the assembly for good.

        Run it on the event loop: the slots are read in a worker thread, and an assembly a
        request took up meanwhile is left for the next call.
        """
        idle = self.assemblies.idle()
        if not idle:
            return 0
        slots = await run_in_threadpool(self._slots, idle)
        finished = [identifier for identifier, slot in zip(idle, slots, strict=True)
                    if slot is None or slot.state == "complete"]
        still_idle = set(self.assemblies.idle())
        dropped = [identifier for identifier in finished if identifier in still_idle]
        for identifier in dropped:
            self.assemblies.drop(identifier)
        return len(dropped)

    def _slots(self, identifiers: list[str]) -> list[FileSlot | None]:
        return [self.storage.file(identifier) for identifier in identifiers]

    def _sweep(self) -> int:
        cutoff = rfc3339(self.clock() - self.expiry)
        examined_until, forgotten = cutoff, 0
        for slot in self.storage.expired_slots(opened_before=cutoff,
                                               finished_since=self._examined_until):
            assembly = self.assemblies.get(slot.identifier)
            if assembly is not None and (assembly.busy or assembly.lock.locked()):
                # It may finish without becoming a package: examine it again next time.
                examined_until = min(examined_until, slot.created_at)
                continue
            self.assemblies.drop(slot.identifier)
            forgotten += self.storage.forget_slot(slot)
        self._examined_until = examined_until
        return forgotten
