"""The data directory's layout, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingestd.errors import NotInitialisedError


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def staging(self) -> Path:
        # Must be on the store's filesystem so that committing is a rename, not a copy.
        return self.root / "staging"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def signing_key(self) -> Path:
        return self.keys / "signing-ed25519.pem"

    @property
    def verify_key(self) -> Path:
        return self.keys / "signing-ed25519.pub.pem"

    @property
    def exports(self) -> Path:
        # Case files made on request in the console, to download; outside the store's root.
        return self.root / "exports"

    @property
    def fetched(self) -> Path:
        # Originals only the bucket holds, fetched (and checked) for a job that reads them:
        # a cache, emptied by the eviction pass, never part of the store.
        return self.root / "cache" / "originals"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    def require_initialised(self) -> None:
        if not (self.store / "0=ocfl_1.1").is_file() or not self.signing_key.is_file():
            raise NotInitialisedError(
                f"data directory {self.root} is not initialised: run `ingestd init` first"
            )
