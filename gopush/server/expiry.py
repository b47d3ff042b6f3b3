"""Forget upload slots nobody finished, so a long-running server does not keep their files.

An upload slot (``POST /files/…``) stays open for ``ServeSettings.upload_expiry`` seconds
(24 h by default), far longer than any upload takes. After that an unfinished slot is
forgotten with what it holds on disk: its joined file and the parts kept in files of their
own (a multipart upload abandoned half-way can hold hundreds of MB). The check runs whenever
a slot is opened, so a busy server never lets abandoned uploads pile up; it is one indexed
query over unfinished slots. A slot whose part or ``complete`` is running right now is left
for the next check. Finished uploads no package was made from are forgotten at the next
start (``Storage.recover``), where their blobs can be deleted safely.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gopush.server.assembly import Assemblies
from gopush.server.storage import Storage, rfc3339


class SlotExpiry:
    """Forgets unfinished upload slots opened more than ``expiry`` seconds ago."""

    def __init__(self, storage: Storage, assemblies: Assemblies, expiry: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.assemblies = assemblies
        self.expiry = expiry  # seconds
        self.clock = clock

    def sweep(self) -> int:
        """Forget the expired unfinished slots no request is working on; return how many.

        Call it from the event loop: a part or ``complete`` marks its assembly busy or takes
        its lock before its first ``await``, so a slot in use is never pulled from under it.
        """
        forgotten = 0
        for slot in self.storage.unfinished_slots(opened_before=rfc3339(self.clock()
                                                                         - self.expiry)):
            assembly = self.assemblies.get(slot.identifier)
            if assembly is not None and (assembly.busy or assembly.lock.locked()):
                continue
            self.assemblies.drop(slot.identifier)
            self.storage.forget_slot(slot)
            forgotten += 1
        return forgotten
