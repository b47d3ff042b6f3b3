"""The one redaction: text fit for output, logs and error messages, client and server alike.

Stdlib only and below every package, so that ``config`` (what the client prints) and
``server`` (its log, upstream URLs) use the same rule: a given secret becomes ``***``, so
does the user information of any URL, and the value of any query parameter whose name
(percent-decoded) holds a secret-like word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

_SECRET_PARAM_WORDS = ("key", "token", "secret", "signature", "sig", "password", "passwd",
                       "auth", "credential", "session")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@'\"<>]*@")
_PARAM = re.compile(r"([?&;])([^=&;#\s'\"<>]*)=([^&;#\s'\"<>]*)")


SHORT_SECRET = 8  # shorter secrets are masked as whole tokens only (see redact)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` fit for output: the one redaction for everything gopush prints.

    Each of ``secrets`` (the API key) becomes ``***``; so does the user information of any
    URL in the text (``https://***@host/``) and the value of any query parameter whose
    name holds a secret-like word (``api_key``, ``X-Amz-Signature``, ``token``...). The
    text may be a URL, a message quoting URLs, or a registry's reply. A secret shorter
    than ``SHORT_SECRET`` characters is masked only as a whole token (not inside a longer
    run of letters, digits, ``_`` or ``-``): a key "k" must not garble "package".
    """
    for secret in secrets:
        if len(secret) >= SHORT_SECRET:
            text = text.replace(secret, "***")
        elif secret:
            text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "***", text)
    if "://" in text:  # (both patterns need their marks: most texts have neither)
        text = _USERINFO.sub(r"\1***@", text)
    return _PARAM.sub(_mask_param, text) if "=" in text else text


def _mask_param(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    secret = any(word in unquote(name).lower() for word in _SECRET_PARAM_WORDS)
    return f"{sep}{name}={'***' if secret and value else value}"
