"""The storage gate: the one place where visitor- or agent-authored text and values pass before any store
writes them (messages, dialogue state, handoff bundles, feedback, audit details, shadow replies, logs).

- `text` / `split`: PII replaced by placeholders ([EMAIL_1]); `split` also returns the originals, which only
  the token vault keeps (encrypted).
- `data`: every string inside a JSON-like value redacted (a handoff bundle, an audit record's details).
- `seal` / `unseal`: what a flow needs back on a later turn (slot values, a message waiting for "switch?",
  action results) encrypted with Fernet. The key is privacy.seal_key_file's (or the vault key) when the owner
  set one (state survives a restart and moves between replicas), else a key made at start and held in memory
  only: after a restart an unfinished flow asks again. A token this key cannot open is logged and counted
  (`unseal_failures`, the metric edgebot_unseal_failures), never dropped in silence.
- `for_logs`: the server's log lines, redacted by the rules only (the learned tagger reads file paths and
  program names in tracebacks as names and addresses); `keep`: the operator's own values (the address the
  server binds to), never redacted.

With `privacy.redact = false` the text passes unchanged (the owner's choice); sealing stays on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from edgebot.errors import ConfigError
from edgebot.privacy.redact import Redactor, redact_data

log = logging.getLogger("edgebot.privacy")
_CLOSED = object()  # what _open returns for a token this key cannot open


class StorageGate:
    def __init__(self, redactor: Redactor | None, key: bytes | None = None, keep: Iterable[str] = (),
                 logs: Redactor | None = None) -> None:
        from cryptography.fernet import Fernet

        self.redactor = redactor
        self.logs = logs
        try:
            self.fernet = Fernet(key or Fernet.generate_key())
        except ValueError:
            raise ConfigError("the sealing key is not a Fernet key (32 url-safe base64 bytes); create one with "
                              "`edgebot privacy seal-key`") from None
        self.keep = frozenset(v for v in keep if v)
        self.unseal_failures = 0  # tokens this key could not open, since start

    def keeping(self, *values: str) -> None:
        """Never redact VALUES (the operator's own: the address the server binds to)."""
        self.keep = self.keep | {v for v in values if v}

    @property
    def redacting(self) -> bool:
        return self.redactor is not None

    def __call__(self, text: str) -> str:
        return self.text(text)

    def text(self, text: str) -> str:
        """TEXT with its personal data replaced by placeholders."""
        return self.split(text)[0]

    def split(self, text: str) -> tuple[str, dict[str, str]]:
        """The redacted text and {placeholder: original} (for the token vault only)."""
        if self.redactor is None or not text:
            return text, {}
        return self.redactor.split(text, keep=self.keep)

    def for_logs(self, text: str) -> str:
        """A log line with visitor data redacted by the rules; the server's own values kept."""
        if self.logs is None or not text:
            return text
        return self.logs.split(text, keep=self.keep)[0]

    def data(self, value: Any) -> Any:
        """VALUE (dicts, lists, strings, numbers) with every string redacted; keys are kept."""
        return redact_data(value, self.text)

    def seal(self, value: Any) -> str:
        """VALUE (JSON-encodable) encrypted: nothing of it readable at rest."""
        return self.fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def unseal(self, token: str, default: Any = None) -> Any:
        """What `seal` made; DEFAULT, logged and counted, when this key cannot open it (sealed before a restart
        without a configured key, or by a replica with another key)."""
        opened = self._open(token)
        if opened is _CLOSED:
            self.unseal_failures += 1
            log.warning("sealed dialogue state could not be opened with this process's key (sealed before a restart "
                        "or by a replica with another privacy.seal_key_file); the flow's slots start over")
            return default
        return opened

    def opens(self, token: str) -> bool:
        """Whether this key opens TOKEN (a check, neither logged nor counted)."""
        return self._open(token) is not _CLOSED

    def _open(self, token: str) -> Any:
        from cryptography.fernet import InvalidToken

        try:
            return json.loads(self.fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            return _CLOSED

    def warm_up(self) -> None:
        """Load the detectors' data now, not on the first visitor's message."""
        self.text("Warm-up: call +1 202 555 0143 or mail warm.up@example.com")
