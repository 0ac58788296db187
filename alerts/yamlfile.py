"""Load a YAML file into a pydantic model, naming file, line and field in every error."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from alerts.errors import AlertsError

M = TypeVar("M", bound=BaseModel)


class ConfigError(AlertsError, ValueError):
    """A config file is unreadable or invalid; the message lists `file:line: field: problem`."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest node reached by following `loc` (unknown parts skipped)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    child = value
                    # point at the key for a missing-field error one level below
                    line = key.start_mark.line + 1
                    break
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
        if child is None:
            continue  # a union tag or a model name pydantic inserted: not in the file
        node = child
        line = node.start_mark.line + 1
    return line


def _internal(part: object) -> bool:
    """Location parts pydantic adds for unions and validators; they are not in the file."""
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def read_utf8(path: str | Path) -> str:
    """The file's text; bytes that are not UTF-8 are a ConfigError naming the line, not a
    UnicodeDecodeError escaping into whoever polls the file."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(name, [f"{name}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        problem = (f"{name}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                   f"{exc.start}); save the file as UTF-8")
        raise ConfigError(name, [problem]) from None


def load_yaml(path: str | Path, model: type[M], *, text: str | None = None) -> M:
    """Parse and validate; raise ConfigError with `file:line: field: message` lines.

    An empty file (or one of comments only) is an error: read as `{}` it would silently turn
    every target or rule off, which is never what a half-written or truncated file means."""
    name = str(path)
    if text is None:
        text = read_utf8(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(name, [f"{where}: invalid YAML: {problem}"]) from None
    except RecursionError:  # absurdly deep nesting: a config error, not a crash
        raise ConfigError(name, [f"{name}: invalid YAML: nested too deeply"]) from None
    if data is None:
        empty = f"{name}: the file is empty (nothing but blanks or comments): it would turn all off"
        raise ConfigError(name, [empty])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        errors = exc.errors(include_url=False, include_input=False)
        # `X | list[X]` reports both branches; the list branch is noise when X failed too
        if len(errors) > 1:
            errors = [e for e in errors
                      if not any(str(p).startswith("list[") for p in e.get("loc", ()))] or errors
        for err in errors:
            loc = tuple(p for p in err.get("loc", ()) if not _internal(p))
            line = _line_of(root, loc)
            field = ".".join(str(p) for p in loc) or "(file)"
            where = f"{name}:{line}" if line else name
            problems.append(f"{where}: {field}: {err.get('msg', 'invalid')}")
        raise ConfigError(name, problems) from None
