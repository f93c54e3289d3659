"""The dock's Ed25519 signing key: signs audit entries (and later segment manifests).

The private key is created once by `ingestd init`, readable by the daemon's user only.
Verification needs only the public key, so an auditor can check a copy of the log
without access to the dock's secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ingestd.errors import AuditError


def create_keypair(private_path: Path, public_path: Path) -> None:
    """Write a new key pair unless one exists: a key is never silently replaced."""
    if private_path.exists():
        return
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @classmethod
    def load(cls, path: Path) -> "Signer":
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise AuditError(f"signing key {path} is unreadable: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditError(f"signing key {path} is not an Ed25519 key")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return self.key.sign(message).hex()


@dataclass(frozen=True)
class Verifier:
    key: Ed25519PublicKey

    @classmethod
    def load(cls, path: Path) -> "Verifier":
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise AuditError(f"verify key {path} is unreadable: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise AuditError(f"verify key {path} is not an Ed25519 key")
        return cls(key)

    def valid(self, message: bytes, signature_hex: str) -> bool:
        try:
            self.key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True
