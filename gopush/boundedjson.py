"""Decoding JSON from a peer (a registry's reply, a vulnerability database's document) (pure).

The caller bounds the bytes (each reader has its own cap); within them JSON can still defeat
the decoder: arrays nested 100,000 deep exhaust the recursion limit, and a number of more
than 4,300 digits passes Python's limit on integer conversion. Every such failure is one
error, ``UnreadableJson``, whose ``why`` a message can carry.
"""

from __future__ import annotations

import json
from typing import Any


class UnreadableJson(ValueError):
    """A document that is not JSON Python can read; ``why`` says how, for a message."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def loads(data: bytes) -> Any:
    """Return the JSON value of ``data``.

    Raises:
        UnreadableJson: not UTF-8 JSON, nested too deeply, or a number too long to read.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise UnreadableJson("JSON nested too deeply") from None
    except json.JSONDecodeError:
        raise UnreadableJson("not JSON") from None
    except UnicodeDecodeError:
        raise UnreadableJson("not UTF-8 text") from None
    except ValueError:  # int(): "Exceeds the limit (4300 digits) for integer string conversion"
        raise UnreadableJson("a number too long to read") from None
