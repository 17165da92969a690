"""YAML configs validated by pydantic models, with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from preprocessing.errors import UserError

ConfigT = TypeVar("ConfigT", bound=BaseModel)

MAX_NESTING = 64  # the configs nest 4 deep; a YAML nested ~1000 deep would crash the parser's recursion


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors (a typo must not be silently ignored) and
    every float is finite (no setting means anything at ±inf or NaN: ``guidance: .inf`` gave black frames).
    Dataclass sections without a pydantic config of their own inherit both rules."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key given twice in one mapping (the last one would silently win)
    and nesting deeper than ``MAX_NESTING``."""

    depth = 0

    def compose_node(self, parent, index):
        if self.depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_NESTING} levels", self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` then overriding a key is no duplicate
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def format_validation_error(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "<root>"
        problems.append(f"{location}: {item['msg']}")
    return f"invalid config {source}: " + "; ".join(problems)


def read_config(path: str | Path) -> dict:
    """The mapping in the YAML file ``path`` (not validated); UserError when missing or not a YAML mapping."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:  # the error marks then name the file, not "<unicode string>"
            data = yaml.load(handle, StrictLoader) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UserError(f"config {path} is not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(data, dict):
        raise UserError(f"config {path} must be a mapping at the top level, got {type(data).__name__}")
    return data


def load_config(path: str | Path, model: type[ConfigT], overrides: dict | None = None) -> ConfigT:
    """Read ``path`` (YAML), apply ``overrides`` (top-level keys) and validate against ``model``."""
    data = read_config(path)
    data.update(overrides or {})
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise UserError(format_validation_error(error, str(path))) from None


def with_train(config: ConfigT, **values) -> ConfigT:
    """``config`` with the ``values`` that are not None set in its ``train`` section (command-line overrides)."""
    given = {key: value for key, value in values.items() if value is not None}
    return config.model_copy(update={"train": config.train.model_copy(update=given)})


def validate(model: type[ConfigT], data: dict, source: str = "<arguments>") -> ConfigT:
    """Validate a plain dict (e.g. CLI arguments) with the same error formatting as files."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise UserError(format_validation_error(error, source)) from None


def option_value(text: str) -> int | float | str | tuple[float, ...]:
    """A command-line option value: int, float, a ``/``-separated tuple of floats, else the text itself."""
    for parse in (int, float, lambda t: tuple(float(v) for v in t.split("/"))):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def parse_options(text: str, flag: str) -> dict:
    """``name=value,name=value`` (may be empty) → {name: value}; UserError naming ``flag`` on a malformed item."""
    options = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UserError(f"{flag} {text}: expected name=value, got {item!r}")
        options[name.strip()] = option_value(value.strip())
    return options
