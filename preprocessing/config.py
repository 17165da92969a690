"""YAML configs validated by pydantic models, with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from preprocessing.errors import UserError

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def format_validation_error(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "<root>"
        problems.append(f"{location}: {item['msg']}")
    return f"invalid config {source}: " + "; ".join(problems)


def load_config(path: str | Path, model: type[ConfigT], overrides: dict | None = None) -> ConfigT:
    """Read ``path`` (YAML), apply ``overrides`` (top-level keys) and validate against ``model``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UserError(f"config {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise UserError(f"config {path} must be a mapping at the top level, got {type(data).__name__}")
    data.update(overrides or {})
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise UserError(format_validation_error(error, str(path))) from None


def validate(model: type[ConfigT], data: dict, source: str = "<arguments>") -> ConfigT:
    """Validate a plain dict (e.g. CLI arguments) with the same error formatting as files."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise UserError(format_validation_error(error, source)) from None
