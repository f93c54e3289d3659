"""The originals store: an OCFL 1.1 storage root (https://ocfl.io/1.1/spec/).

One object per recording, id `urn:ingestd:rec:<sha256 of the original>`, laid out with extension
0003-hash-and-id-n-tuple-storage-layout. Objects are assembled complete in staging and
renamed into place, so an object is either whole or absent; the root inventory and its
sidecar are the last files written. Content files are made read-only and are never
rewritten (002 第17条, 003 第39条): a later change is a new version. The store describes
itself, so the database can be rebuilt from it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from ingestd.durable import HAS_SYNCFS, fsync_dir, fsync_tree, makedirs, replace_file, syncfs, write_file
from ingestd.errors import ObjectExistsError, StoreError
from ingestd.findings import Finding
from ingestd.ingest.staging import Marker, StagingArea

SPEC = "1.1"
LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
DIGEST_ALGORITHM = "sha256"  # OCFL allows sha256; it is also the digest the dock proves copies with
SIDECAR = f"inventory.json.{DIGEST_ALGORITHM}"
STORED_MODE = 0o444  # every file of an object, once in the store: write-once, for its owner too
TUPLE_SIZE, TUPLES = 3, 3
HASH_CHUNK = 4 << 20
DELETION_JSON = "deletion.json"


def object_id_for(sha256_hex: str) -> str:
    # A URI, as OCFL recommends (W005); the SHA-256 makes the same bytes the same object
    # whichever dock or camera name they arrive under.
    return f"urn:ingestd:rec:{sha256_hex}"


@dataclass(frozen=True)
class NewFile:
    """A file to put into an object version: either an already-written file to move in
    (`source`, whose digest the caller has proven) or small `data` to write."""

    logical_path: str
    digest: str
    source: Path | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class Assembled:
    """A new object laid out in staging, waiting for `commit_assembled` (work is None when
    its id was already in the store)."""

    object_id: str
    target: Path
    work: Path | None
    synced: frozenset[str]


@dataclass(frozen=True)
class Signature:
    """Who made a version: the OCFL `user` block and `message`."""

    user: str
    address: str  # a URI (OCFL W008), e.g. urn:ingestd:dock:dock-01 or urn:ingestd:badge:012345
    message: str
    created: datetime


def _ocfl_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def inventory_bytes(inventory: dict) -> bytes:
    return (json.dumps(inventory, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_tuple(name: str) -> bool:
    return len(name) == TUPLE_SIZE and all(c in "0123456789abcdef" for c in name)


def _check_logical_path(path: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"invalid logical path {path!r}")


class OcflStore:
    def __init__(self, root: Path, staging: StagingArea | Callable[[], StagingArea]):
        self.root = root
        # Same filesystem as root: objects arrive by rename. A callable is asked on first
        # write, so that readers never open (and sweep) a staging area.
        self._staging = staging

    @property
    def staging(self) -> StagingArea:
        return self._staging if isinstance(self._staging, StagingArea) else self._staging()

    # ----- storage root -----------------------------------------------------------------

    def initialise(self) -> None:
        """Create the storage root if it is not there; a no-op on an existing root."""
        makedirs(self.root)
        namaste = self.root / f"0=ocfl_{SPEC}"
        if namaste.exists():
            return
        ext_dir = self.root / "extensions" / LAYOUT
        ext_dir.mkdir(parents=True, exist_ok=True)
        config = {"extensionName": LAYOUT, "digestAlgorithm": "sha256",
                  "tupleSize": TUPLE_SIZE, "numberOfTuples": TUPLES}
        replace_file(ext_dir / "config.json", (json.dumps(config, indent=2) + "\n").encode(), 0o644)
        layout = {"extension": LAYOUT,
                  "description": "Hashed truncated n-tuple trees with object id encapsulating directory"}
        replace_file(self.root / "ocfl_layout.json", (json.dumps(layout, indent=2) + "\n").encode(), 0o644)
        fsync_dir(self.root / "extensions")
        # The declaration goes last: a root is a root only once it is complete.
        replace_file(namaste, f"ocfl_{SPEC}\n".encode(), 0o644)

    def is_initialised(self) -> bool:
        return (self.root / f"0=ocfl_{SPEC}").is_file()

    def object_path(self, object_id: str) -> Path:
        digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()
        tuples = [digest[i * TUPLE_SIZE:(i + 1) * TUPLE_SIZE] for i in range(TUPLES)]
        encapsulation = "".join(
            c if (c.isascii() and (c.isalnum() or c in "-_")) else "".join(f"%{b:02x}" for b in c.encode())
            for c in object_id
        )
        if len(encapsulation) > 100:
            encapsulation = f"{encapsulation[:100]}-{digest}"
        return self.root.joinpath(*tuples, encapsulation)

    def exists(self, object_id: str) -> bool:
        return (self.object_path(object_id) / f"0=ocfl_object_{SPEC}").is_file()

    def iter_objects(self) -> Iterator[tuple[str, Path]]:
        """Every object in the store, by walking the tuple tree (the store alone, no index)."""
        for dirpath, dirs, files in os.walk(self.root):
            here = Path(dirpath)
            if here == self.root:
                dirs[:] = sorted(d for d in dirs if d != "extensions")
                continue
            if f"0=ocfl_object_{SPEC}" in files:
                dirs[:] = []
                yield self.read_inventory_at(here)["id"], here
            else:
                dirs.sort()

    def foreign_entries(self) -> list[str]:
        """Everything in the storage root that is not part of the store (OCFL E072/E001): at
        the top only the declaration, the layout and its extension; below it the n-tuple
        directories, then objects, each holding only its declaration, inventory, sidecar,
        version directories and what its inventories name. Paths relative to the root."""
        foreign: list[str] = []
        top = {f"0=ocfl_{SPEC}", "ocfl_layout.json", "extensions"}
        for entry in sorted(self.root.iterdir()):
            if entry.name in top:
                continue
            if entry.is_dir() and not entry.is_symlink() and _is_tuple(entry.name):
                self._foreign_below(entry, 1, foreign)
            else:
                foreign.append(entry.name)
        return foreign

    def _foreign_below(self, directory: Path, depth: int, foreign: list[str]) -> None:
        for entry in sorted(directory.iterdir()):
            rel = os.fspath(entry.relative_to(self.root))
            if entry.is_symlink() or not entry.is_dir():
                foreign.append(rel)
            elif depth < TUPLES:
                if _is_tuple(entry.name):
                    self._foreign_below(entry, depth + 1, foreign)
                else:
                    foreign.append(rel)
            elif not (entry / f"0=ocfl_object_{SPEC}").is_file():
                foreign.append(rel)  # not an object: nothing else may live at this depth
            else:
                foreign += [os.fspath((entry / p).relative_to(self.root)) for p in self._unlisted(entry)]

    def _unlisted(self, object_dir: Path) -> list[str]:
        """Files and directories inside an object that its inventories do not account for."""
        try:
            inventory = self.read_inventory_at(object_dir)
        except StoreError:
            return []  # verify_object names an unreadable inventory
        expected = {f"0=ocfl_object_{SPEC}", "inventory.json", SIDECAR}
        for version in inventory["versions"]:
            expected |= {version, f"{version}/inventory.json", f"{version}/{SIDECAR}", f"{version}/content"}
        listed = {p for paths in inventory["manifest"].values() for p in paths}
        out = []
        for dirpath, dirs, files in os.walk(object_dir):
            rel_dir = os.path.relpath(dirpath, object_dir)
            for name in dirs + files:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if rel in expected or rel in listed or any(p.startswith(rel + "/") for p in listed):
                    continue
                out.append(rel)
                if name in dirs:
                    dirs.remove(name)
        return out

    # ----- reading ----------------------------------------------------------------------

    def read_inventory_at(self, object_dir: Path) -> dict:
        try:
            return json.loads((object_dir / "inventory.json").read_bytes())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{object_dir}: unreadable inventory: {exc}") from exc

    def inventory(self, object_id: str) -> dict:
        return self.read_inventory_at(self.object_path(object_id))

    def resolve(self, object_id: str, logical_path: str, version: str | None = None) -> Path:
        """The file on disk holding `logical_path` in `version` (default: head)."""
        inventory = self.inventory(object_id)
        state = inventory["versions"][version or inventory["head"]]["state"]
        for digest, paths in state.items():
            if logical_path in paths:
                return self.object_path(object_id) / inventory["manifest"][digest][0]
        raise StoreError(f"{object_id}: no file {logical_path!r} in {version or inventory['head']}")

    def read_json(self, object_id: str, logical_path: str) -> dict:
        return json.loads(self.resolve(object_id, logical_path).read_bytes())

    # ----- writing ----------------------------------------------------------------------

    def create_object(self, object_id: str, files: list[NewFile], sig: Signature) -> Path:
        """Write version 1 of a new object. Raises ObjectExistsError if the id is taken
        (another process committed the same content first); nothing is left behind then."""
        [target] = self.commit_assembled([self.assemble(object_id, files, sig)])
        if target is None:
            raise ObjectExistsError(object_id)
        return target

    def assemble(self, object_id: str, files: list[NewFile], sig: Signature) -> Assembled:
        """Lay out version 1 of a new object in staging, nothing flushed yet (`commit_assembled`
        flushes many at once). An id already in the store comes back with no work directory,
        and its `source` files are left to the caller."""
        target = self.object_path(object_id)
        if target.exists():
            return Assembled(object_id, target, None, frozenset())
        work = self.staging.work_dir()
        try:
            inventory = self.inventory_with_version({"id": object_id, "type": INVENTORY_TYPE,
                                                      "digestAlgorithm": DIGEST_ALGORITHM,
                                                      "head": "v0", "manifest": {}, "versions": {}},
                                                     files, sig)
            synced = self.fill_version_dir(work / "v1", files, inventory)
            write_file(work / f"0=ocfl_object_{SPEC}", f"ocfl_object_{SPEC}\n".encode(), sync=False)
            self._write_inventory(work, inventory, durable=False)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return Assembled(object_id, target, work, synced)

    def commit_assembled(self, objects: list[Assembled]) -> list[Path | None]:
        """Rename assembled objects into the store: a group commit. Everything they hold is
        made durable with one flush before any is renamed in, and the renames with one flush
        after (syncfs; an fsync of each file and directory where the system has none).
        Returns each object's path, or None where the id was taken (nothing is left then)."""
        results: list[Path | None] = [None] * len(objects)
        pending = [(i, o) for i, o in enumerate(objects) if o.work is not None]
        if not pending:
            return results
        try:
            marker = self.staging.mark("target", "\n".join(str(o.target) for _i, o in pending), sync=False)
            if HAS_SYNCFS:
                syncfs(self.staging.dir)
            else:
                for _i, o in pending:
                    fsync_tree(o.work, o.synced)
                fsync_dir(marker.path.parent)
            touched: set[Path] = set()
            for i, o in pending:
                made = makedirs(o.target.parent, durable=not HAS_SYNCFS)
                try:
                    os.rename(o.work, o.target)
                except OSError as exc:
                    self.prune_empty_parents(o.target)
                    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                        continue  # another process committed the same bytes first
                    raise
                results[i] = o.target
                touched.add(o.target.parent)
                touched.update(d.parent for d in made)
            if HAS_SYNCFS:
                syncfs(self.root)
            else:
                for directory in touched:
                    fsync_dir(directory)
            self.staging.done(marker)
        finally:
            for _i, o in pending:
                if o.work.exists():
                    shutil.rmtree(o.work)  # read-only files go with their writable directory
        return results

    def add_version(self, object_id: str, files: list[NewFile], sig: Signature,
                    remove: tuple[str, ...] = ()) -> str:
        """Add a version: the previous state plus `files` (new or replacing a logical path),
        minus `remove`. Earlier versions and their content are never touched."""
        object_dir = self.object_path(object_id)
        inventory = self.inventory(object_id)
        new = self.inventory_with_version(inventory, files, sig, remove)
        version = new["head"]
        work = self.staging.work_dir()
        marker = self.staging.mark("version", object_id)
        try:
            fsync_tree(work, self.fill_version_dir(work, files, new))
            # A crash from here on is repaired by recover_object() from the marker: the
            # version directory either is absent, or is complete with its own inventory.
            os.rename(work, object_dir / version)
            fsync_dir(object_dir)
        finally:
            if work.exists():
                shutil.rmtree(work)  # read-only files go with their writable directory
        self._write_inventory(object_dir, new, durable=True)
        self.staging.done(marker)
        return version

    def purge(self, object_id: str, logical_path: str, record: dict, sig: Signature) -> str:
        """Retention deletion, the one exception to write-once, and only on an admin's
        approval: a new version drops `logical_path` and adds `deletion.json` (what was
        deleted, its digest, who approved), then that file's bytes are removed from the
        version that holds them. The manifest keeps the digest, so what was deleted stays
        provable; verify_object accepts exactly the digests a deletion record names.
        Safe to run again after a crash: it finishes removing the bytes."""
        inventory = self.inventory(object_id)
        head_state = inventory["versions"][inventory["head"]]["state"]
        if any(DELETION_JSON in paths for paths in head_state.values()):
            purged = set(self.read_json(object_id, DELETION_JSON)["purged_digests"])
            version = inventory["head"]
        else:
            digest = next((d for d, paths in head_state.items() if logical_path in paths), None)
            if digest is None:
                raise StoreError(f"{object_id}: no file {logical_path!r} to delete")
            purged = {digest}
            data = inventory_bytes({**record, "logical_path": logical_path, "purged_digests": sorted(purged)})
            version = self.add_version(object_id, [NewFile(DELETION_JSON, hashlib.sha256(data).hexdigest(),
                                                           data=data)], sig, remove=(logical_path,))
            inventory = self.inventory(object_id)
        object_dir = self.object_path(object_id)
        for digest in purged:
            for rel in inventory["manifest"].get(digest, []):
                path = object_dir / rel
                if path.exists():
                    path.unlink()
                    fsync_dir(path.parent)
        return version

    def purged_digests(self, object_id: str, inventory: dict | None = None) -> set[str]:
        inventory = inventory or self.inventory(object_id)
        state = inventory["versions"][inventory["head"]]["state"]
        if not any(DELETION_JSON in paths for paths in state.values()):
            return set()
        return set(self.read_json(object_id, DELETION_JSON)["purged_digests"])

    def repair(self, marker: Marker) -> None:
        """Finish or undo a step a dead process left half done."""
        if marker.kind == "target":
            for line in marker.value.splitlines():
                self.prune_empty_parents(Path(line))
        elif marker.kind == "version":
            self.recover_object(marker.value)

    def prune_empty_parents(self, target: Path) -> None:
        """Remove the empty tuple directories made for an object that never arrived
        (OCFL forbids empty directories in the storage hierarchy)."""
        directory = target.parent
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:
                return  # not empty: another object lives below
            directory = directory.parent

    def recover_object(self, object_id: str) -> bool:
        """Finish a version whose directory landed but whose root inventory did not.
        Returns True if anything was repaired."""
        object_dir = self.object_path(object_id)
        if not object_dir.exists():
            return False
        versions = sorted((int(p.name[1:]), p) for p in object_dir.iterdir()
                          if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit())
        if not versions:
            return False
        latest = versions[-1][1]
        latest_inv = latest / "inventory.json"
        root_inv = object_dir / "inventory.json"
        sidecar_ok = (object_dir / SIDECAR).is_file() and root_inv.is_file() and \
            (object_dir / SIDECAR).read_text().split()[0] == file_sha256(root_inv)
        if root_inv.is_file() and root_inv.read_bytes() == latest_inv.read_bytes() and sidecar_ok:
            return False
        self._write_inventory(object_dir, json.loads(latest_inv.read_bytes()), durable=True)
        return True

    @staticmethod
    def inventory_with_version(previous: dict, files: list[NewFile], sig: Signature,
                                remove: tuple[str, ...] = ()) -> dict:
        number = int(previous["head"][1:]) + 1
        version = f"v{number}"
        manifest = {d: list(p) for d, p in previous["manifest"].items()}
        state: dict[str, list[str]] = {}
        if previous["versions"]:
            for digest, paths in previous["versions"][previous["head"]]["state"].items():
                state[digest] = list(paths)
        replaced = {f.logical_path for f in files} | set(remove)
        for digest in list(state):
            state[digest] = [p for p in state[digest] if p not in replaced]
            if not state[digest]:
                del state[digest]
        for f in files:
            _check_logical_path(f.logical_path)
            state.setdefault(f.digest, []).append(f.logical_path)
            if f.digest not in manifest:
                manifest[f.digest] = [f"{version}/content/{f.logical_path}"]
        versions = dict(previous["versions"])
        versions[version] = {"created": _ocfl_time(sig.created), "message": sig.message,
                             "user": {"name": sig.user, "address": sig.address}, "state": {d: sorted(p) for d, p in sorted(state.items())}}
        return {"id": previous["id"], "type": INVENTORY_TYPE, "digestAlgorithm": DIGEST_ALGORITHM,
                "head": version, "manifest": dict(sorted(manifest.items())), "versions": versions}

    @staticmethod
    def fill_version_dir(version_dir: Path, files: list[NewFile], inventory: dict) -> frozenset[str]:
        """Put the content this version adds into version_dir/content, plus its inventory,
        none of it fsynced yet (the caller fsyncs the tree). Returns the files moved in,
        which their writer already made durable (a proven copy is fsynced before it is
        re-read)."""
        version = inventory["head"]
        content = version_dir / "content"
        moved = set()
        for f in files:
            wanted = f"{version}/content/{f.logical_path}"
            if wanted not in inventory["manifest"].get(f.digest, []):
                continue  # content already stored by an earlier version: deduplicated
            dest = content / f.logical_path
            dest.parent.mkdir(parents=True, exist_ok=True)
            if f.source is not None:
                os.rename(f.source, dest)
                os.chmod(dest, STORED_MODE)
                moved.add(os.fspath(dest))
            else:
                assert f.data is not None
                write_file(dest, f.data, sync=False)
        version_dir.mkdir(parents=True, exist_ok=True)
        OcflStore._write_inventory(version_dir, inventory, durable=False)
        return frozenset(moved)

    @staticmethod
    def _write_inventory(directory: Path, inventory: dict, durable: bool) -> None:
        data = inventory_bytes(inventory)
        sidecar = f"{hashlib.sha256(data).hexdigest()}  inventory.json\n".encode()
        if durable:
            replace_file(directory / "inventory.json", data)
            replace_file(directory / SIDECAR, sidecar)
        else:  # in a work directory that the caller fsyncs as a whole
            write_file(directory / "inventory.json", data, sync=False)
            write_file(directory / SIDECAR, sidecar, sync=False)

    # ----- fixity -----------------------------------------------------------------------

    def verify_object(self, object_id: str) -> list[Finding]:
        """Re-hash every content file of the object against its inventory."""
        object_dir = self.object_path(object_id)
        if not object_dir.is_dir():
            return [Finding("fixity_missing", {"object_id": object_id, "path": str(object_dir)})]
        findings: list[Finding] = []
        try:
            inventory = self.read_inventory_at(object_dir)
            sidecar = (object_dir / SIDECAR).read_text().split()[0]
        except (OSError, StoreError, IndexError) as exc:
            return [Finding("object_invalid", {"object_id": object_id, "reason": f"inventory: {exc}"})]
        if sidecar != file_sha256(object_dir / "inventory.json"):
            findings.append(Finding("object_invalid", {"object_id": object_id,
                                                       "reason": "inventory.json does not match its sidecar digest"}))
        if inventory.get("id") != object_id:
            findings.append(Finding("object_invalid", {"object_id": object_id,
                                                       "reason": f"inventory names id {inventory.get('id')!r}"}))
        try:
            purged = self.purged_digests(object_id, inventory)
        except (OSError, StoreError, ValueError, KeyError) as exc:
            return findings + [Finding("object_invalid", {"object_id": object_id, "reason": f"deletion.json: {exc}"})]
        for digest, paths in inventory["manifest"].items():
            for rel in paths:
                path = object_dir / rel
                if digest in purged:
                    continue  # deleted under retention with an admin's approval: absent on purpose
                if not path.is_file():
                    findings.append(Finding("fixity_missing", {"object_id": object_id, "path": rel}))
                elif file_sha256(path) != digest:
                    findings.append(Finding("fixity_changed", {"object_id": object_id, "path": rel}))
        return findings

