"""Disc images for 刻盘附卷: ISO 9660 (interchange level 3) with Joliet and Rock Ridge, made
with pycdlib, holding one volume's bag exactly. Rock Ridge and Joliet carry the real
(Chinese) names; the plain ISO 9660 names are mangled to the d-characters it allows,
for readers that know nothing else. Discs are sized by kind, and an export larger than
one disc is split into numbered volumes."""

from __future__ import annotations

import re
from pathlib import Path

import pycdlib

from ingestd.errors import UserError

# Usable bytes of common write-once media.
DISC_BYTES = {"cd": 737_280_000, "dvd": 4_707_319_808, "dvd-dl": 8_543_666_176, "bd": 25_025_314_816}
# Room kept on every volume for the file system, the bag's own files and the 文字说明:
# 2 %, but at least 16 MiB (or a tenth of a small volume).
RESERVE_FRACTION, RESERVE_BYTES = 0.02, 16 << 20
JOLIET_MAX = 64  # UCS-2 characters in one Joliet name


def disc_capacity(kind_or_bytes: str) -> int:
    """Usable payload bytes of one volume: a kind (cd, dvd, dvd-dl, bd) or a byte count."""
    value = kind_or_bytes.strip().lower()
    raw = DISC_BYTES.get(value)
    if raw is None:
        match = re.fullmatch(r"(\d+)([kmg]?)", value)
        if not match:
            raise UserError(f"unknown disc size {kind_or_bytes!r} (use {', '.join(DISC_BYTES)} or a byte count "
                            f"such as 700m)")
        raw = int(match[1]) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match[2]]
    usable = raw - int(max(raw * RESERVE_FRACTION, min(RESERVE_BYTES, raw / 10)))
    if usable <= 0:
        raise UserError(f"disc size {kind_or_bytes!r} is too small to hold anything")
    return usable


def plan_volumes(sizes: list[tuple[str, int]], capacity: int) -> list[list[str]]:
    """Pack items, kept in their given (time) order, into as few volumes as that order
    allows: a case file reads in order, so a volume never jumps back in time."""
    volumes: list[list[str]] = [[]]
    used = 0
    for key, size in sizes:
        if size > capacity:
            raise UserError(f"{key}: {size} bytes does not fit on one disc ({capacity} usable); "
                            f"choose a larger --disc")
        if used + size > capacity and volumes[-1]:
            volumes.append([])
            used = 0
        volumes[-1].append(key)
        used += size
    return volumes


def _iso_name(name: str, is_dir: bool, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".") if not is_dir and "." in name else (name, "", "")
    clean = lambda s: re.sub(r"[^A-Z0-9_]", "_", s.upper())  # noqa: E731
    stem, ext = clean(stem)[:8 if is_dir else 24] or "F", clean(ext)[:3]
    base, n = stem, 1
    while True:
        candidate = base + (f".{ext}" if ext else "")
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        n += 1
        base = f"{stem[:24 - len(str(n)) - 1]}_{n}"


def _joliet_name(name: str, taken: set[str]) -> str:
    if len(name) <= JOLIET_MAX and name not in taken:
        taken.add(name)
        return name
    stem, dot, ext = name.rpartition(".")
    n = 1
    while True:
        suffix = f"~{n}" + (f".{ext}" if dot else "")
        candidate = (stem if dot else name)[:JOLIET_MAX - len(suffix)] + suffix
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        n += 1


def write_iso(bag_dir: Path, iso_path: Path, volume_label: str) -> None:
    iso = pycdlib.PyCdlib()
    # 16 characters: the Joliet volume descriptor holds its label in UCS-2 within 32 bytes.
    label = re.sub(r"[^A-Z0-9_]", "_", volume_label.upper())[:16]
    iso.new(interchange_level=3, vol_ident=label, joliet=3, rock_ridge="1.09", app_ident_str="INGESTD")
    try:
        _add_tree(iso, bag_dir, "/", "/")
        iso.write(str(iso_path))
    finally:
        iso.close()


def _add_tree(iso: pycdlib.PyCdlib, directory: Path, iso_dir: str, joliet_dir: str) -> None:
    iso_taken: set[str] = set()
    joliet_taken: set[str] = set()
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        is_dir = entry.is_dir()
        iso_name = _iso_name(entry.name, is_dir, iso_taken)
        iso_path = f"{iso_dir}{iso_name}" + ("" if is_dir else ";1")
        joliet_path = f"{joliet_dir}{_joliet_name(entry.name, joliet_taken)}"
        if is_dir:
            iso.add_directory(iso_path, rr_name=entry.name, joliet_path=joliet_path)
            _add_tree(iso, entry, iso_path + "/", joliet_path + "/")
        else:
            iso.add_file(str(entry), iso_path=iso_path, rr_name=entry.name, joliet_path=joliet_path)
