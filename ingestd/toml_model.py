"""Loading a TOML data file (a device profile, a policy) into its pydantic model, with
the one-line error an admin can act on: the file, and the key or TOML line at fault."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ingestd.errors import UserError

M = TypeVar("M", bound=BaseModel)


def load_toml_model(path: Path, model: type[M], what: str) -> M:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{what} {path}: invalid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UserError(f"{what} {path}: key {key!r}: {first['msg']}") from None
