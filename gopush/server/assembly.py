"""Join the parts of a multipart upload as they arrive, so ``complete`` has little left to do.

Clients send parts 1, 2, 3, … one after the other. Each part that continues the join in
order is appended straight to one temporary file, whose MD5 and SHA-256 run as it grows;
``complete`` then only fsyncs, checks the MD5 and renames it into the blob store, instead of
copying and re-hashing every byte a second time (0.7–1.0 s for 200 MB).

An append that fails half-way (the client closed the connection, or the body stalled) is cut
off the joined file at once, digests included: those bytes are of no use to anyone (the
client sends the whole part again) and a large part can leave hundreds of MB. The re-sent part
then continues the join in order. Only if that cut fails is the join marked torn.

Anything else is still joined correctly, on the slow path: a part that arrives out of order
or while another part is being appended, a part sent again, a part sent to another instance,
or any part after a torn join: every part is also kept in the blob store
(``Blobs.put_part``), and ``complete`` joins from the store, in part order, when this
process's join does not hold the first parts as the store has them.

An ``Assembly`` lives in memory for one upload slot of one server process; its joined file
lives under ``tmp/``, which a restart sweeps along with the unfinished slot
(``Storage.recover``).
The joined file is open only while a part is appended or the join completes: a client that
abandons an upload between parts leaves a file, not a file descriptor, until the slot expires.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from gopush.server.blobs import Incoming


@dataclass
class Assembly:
    """The in-order join of one upload's parts, and what the slow path must know about it.

    ``ranges`` maps each part appended to ``joined`` to its (offset, size) there; only those
    bytes are trusted, since a failed append may leave a torn tail after them.
    """

    joined: Incoming
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    busy: bool = False  # a part is being appended right now
    torn: bool = False  # an append failed and could not be cut off: later parts go to files
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # held by complete and appends

    @property
    def next_number(self) -> int:
        """Return the part number that would continue the join in order."""
        return len(self.ranges) + 1

    def takes(self, number: int) -> bool:
        """Tell whether part ``number`` can be appended to the join now (the fast path)."""
        return not self.busy and not self.torn and number == self.next_number

    @asynccontextmanager
    async def appending(self, number: int) -> AsyncIterator[Incoming]:
        """Append part ``number``: yield the joined file; record the part if the body succeeds,
        else cut what it wrote off the joined file.

        The body must not leave a write in flight when it ends (``receive.Pipe`` does not).

        Raises:
            Whatever the body raises.
        """
        self.busy = True
        try:
            async with self.lock:
                mark = self.joined.mark()
                try:
                    yield self.joined
                except BaseException:
                    self._cut(mark)
                    raise
                finally:
                    self.joined.park()  # the next part, if any ever comes, reopens it
                self.ranges[number] = (mark[0], self.joined.size - mark[0])
        finally:
            self.busy = False

    def _cut(self, mark: tuple[int, Any, Any]) -> None:
        """Drop a failed append from the joined file; mark the join torn if that fails."""
        try:
            self.joined.rewind(mark)
        except (OSError, ValueError):  # ValueError: the file was closed (the slot was dropped)
            self.torn = True

    def in_order_with(self, parts: dict[int, int]) -> bool:
        """Tell whether the join holds the first of ``parts`` (number → size, as the blob
        store keeps them) as they are, and the others only continue it: then the join plus
        the others is the whole upload."""
        return (bool(self.ranges) and not self.torn
                and all(parts.get(n) == size for n, (_, size) in self.ranges.items())
                and all(n > len(self.ranges) for n in parts if n not in self.ranges))

    def copy_range(self, number: int, into: Incoming) -> None:
        """Append the bytes part ``number`` occupies in the joined file to ``into``, unhashed
        (``Incoming.copy_range``: the part's copy for the blob store)."""
        offset, size = self.ranges[number]
        into.copy_range(self.joined.path, offset, size)


class Assemblies:
    """The assemblies of a server process, by upload slot identifier."""

    def __init__(self) -> None:
        self._by_slot: dict[str, Assembly] = {}

    def get(self, identifier: str) -> Assembly | None:
        """Return the assembly of an upload slot, or None if no part was appended."""
        return self._by_slot.get(identifier)

    def items(self) -> list[tuple[str, Assembly]]:
        """Return the slot identifiers and their assemblies (a copy: safe to ``drop`` from)."""
        return list(self._by_slot.items())

    def start(self, identifier: str, new_file: Callable[[], Incoming]) -> Assembly:
        """Return the slot's assembly, starting one that joins into ``new_file()`` if none."""
        found = self._by_slot.get(identifier)
        if found is None:
            self._by_slot[identifier] = found = Assembly(new_file())
            found.joined.park()
        return found

    def drop(self, identifier: str) -> None:
        """Forget a slot's assembly and delete its joined file (after complete or abort)."""
        found = self._by_slot.pop(identifier, None)
        if found is not None:
            found.joined.discard()
