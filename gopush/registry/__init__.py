"""Destinations for module zips: the only client-side network code.

httpx imports its own command-line client (rich, pygments: ~30 ms of a 0.2 s push) when
those are installed, and falls back to a stub when that import fails; a None entry in
``sys.modules`` makes it fail. gopush never runs httpx's CLI, so every registry module
(imported through this package) gets the lean httpx.
"""

import sys

# typeshed allows only modules in sys.modules; None is the documented way to block an import
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
