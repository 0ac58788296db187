"""The common message shape decoded in one C pass (msgspec): parsing and validation together.

`decode_events` first tries every message here; whatever this does not accept takes the
contract's exact path (orjson + pydantic), which names the dead-letter reason. So this path
may only ever accept LESS than the contract, and must return exactly the contract's fields for
what it accepts. It is built from the contract's own core schema (the same constraints and
defaults; a schema node of any other kind fails at import) and is narrower by construction:

- no field outside the contract (`forbid_unknown_fields`): skipping an unknown value, msgspec
  accepts what orjson rejects (1e400, invalid UTF-8, depth); such messages take the exact path;
- strict JSON types: no whole floats or bools as ints, no numeric strings (the contract's lax
  coercions and ISO `ts` go the exact path);
- the id pattern is not run per field (Python's `re`, ~0.25 µs per id): `unclear` clears the
  batch's ids from its raw bytes at once, and `id_failures` checks the rest exactly;
- a comment's byte limit as a character bound that implies it (4 bytes a character at most);
- `ts` an int in [MIN_TS_MS, MAX_TS_MS]; the future limit is checked by the caller in bulk.

Events are msgspec structs read by attribute, as the contract's models are (`event.type` is a
class attribute). Enum fields are the contract's StrEnum members; `to_fields` gives the field
dicts with their string values (they compare equal).
"""

from __future__ import annotations

import re
from enum import Enum
from itertools import compress, count, repeat
from operator import ne, or_, sub
from typing import Annotated, Any, Literal, Union, cast

import msgspec
from pydantic import ValidationError
from pydantic_core import SchemaValidator, core_schema

from schemas.events import (
    EVENT_LIST_ADAPTER,
    ID_PATTERN,
    MAX_COMMENT_BYTES,
    MAX_TS_MS,
    MIN_TS_MS,
    _fields_only,
    _to_epoch_ms,
)

# Patterns both regex engines read alike: ASCII literals, ASCII ranges and counted repeats.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # within what orjson parses (msgspec: int64 bounds)
_PORTABLE = re.compile(r"\^(?:\[[A-Za-z0-9-]+\]|[A-Za-z0-9]|\{\d+(?:,\d*)?\})*\$")


def _field_type(schema: dict[str, Any], ids: set[str], name: str) -> Any:
    """The msgspec type accepting a subset of what `schema` accepts, with the same value."""
    kind = schema["type"]
    keys = set(schema) - {"type", "metadata", "ref", "strict"}
    if kind == "str" and keys <= {"min_length", "max_length", "pattern"}:
        meta: dict[str, Any] = {k: schema[k] for k in ("min_length", "max_length")
                                if k in schema}
        pattern = schema.get("pattern")
        if pattern == ID_PATTERN:
            ids.add(name)  # checked per batch, see id_failures
        elif pattern is not None:
            if not _PORTABLE.fullmatch(pattern):
                raise TypeError(f"pattern of {name} is not portable: {pattern!r}")
            meta["pattern"] = pattern[:-1] + r"\Z"  # Python's `$` also matches before a "\n"
        return Annotated[str, msgspec.Meta(**meta)] if meta else str
    if kind == "int" and keys <= {"ge", "gt", "le", "lt"}:
        # orjson refuses ints outside 64 bits (not_json); msgspec would take them
        bounds = {"ge": _INT_MIN, "le": _INT_MAX, **{k: schema[k] for k in keys}}
        if "gt" in bounds:
            bounds["ge"] = max(bounds["ge"], bounds.pop("gt") + 1)
        if "lt" in bounds:
            bounds["le"] = min(bounds["le"], bounds.pop("lt") - 1)
        return Annotated[int, msgspec.Meta(**bounds)]
    if kind == "float" and keys <= {"ge", "gt", "le", "lt", "allow_inf_nan"} \
            and schema.get("allow_inf_nan") is False:  # JSON has no NaN; overflow is inf
        bounds = {k: schema[k] for k in keys - {"allow_inf_nan"}}
        if not ({"ge", "gt"} & bounds.keys() and {"le", "lt"} & bounds.keys()):
            raise TypeError(f"{name}: a float without both bounds could be inf")
        return Annotated[float, msgspec.Meta(**bounds)]
    if kind == "enum" and keys <= {"cls", "members", "sub_type"} \
            and schema.get("sub_type") == "str" and issubclass(schema["cls"], Enum):
        return schema["cls"]
    if kind == "literal" and keys == {"expected"} \
            and all(type(v) in (int, str) for v in schema["expected"]):
        return Literal[tuple(schema["expected"])]
    if kind == "nullable" and keys == {"schema"}:
        return Union[_field_type(schema["schema"], ids, name), None]  # noqa: UP007 - built at run time
    if kind == "function-after" and keys == {"function", "schema"}:
        fn = getattr(schema["function"]["function"], "__name__", "")
        inner = schema["schema"]
        if fn == "_not_in_future" and inner["type"] == "function-before" \
                and inner["function"]["function"] is _to_epoch_ms \
                and inner["schema"] == {"type": "int"}:
            return Annotated[int, msgspec.Meta(ge=MIN_TS_MS, le=MAX_TS_MS)]
        if fn == "_text_limit" and inner == {"type": "str"}:
            # At most 4 UTF-8 bytes a character (surrogatepass: 3): this many are always within.
            return Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_BYTES // 4)]
    raise TypeError(f"no fast decoding for {name}: {kind} {sorted(keys)} (the contract changed?)")


def _structs() -> tuple[msgspec.json.Decoder, dict[str, Any], tuple[str, ...]]:
    union = EVENT_LIST_ADAPTER.core_schema["items_schema"]
    if union.get("type") != "tagged-union" or union.get("discriminator") != "type":
        raise TypeError("the contract's event union is not tagged on `type`")
    ids: set[str] = set()
    structs: dict[str, Any] = {}
    for tag, model in union["choices"].items():
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        for name, field in _fields_only(model)["fields"].items():
            schema = cast("dict[str, Any]", field["schema"])
            if name == "type":
                if schema.get("default") != tag:
                    raise TypeError(f"`type` of {tag} defaults to {schema.get('default')!r}")
                continue  # the tag itself
            if schema["type"] == "default":
                if set(schema) - {"type", "default", "schema", "metadata"}:
                    raise TypeError(f"{tag}.{name}: a default of another kind")
                fields.append((name, _field_type(schema["schema"], ids, name), schema["default"]))
            else:
                fields.append((name, _field_type(schema, ids, name)))
        # `type` as a class attribute: every event reads `event.type`, as on the models.
        structs[tag] = msgspec.defstruct(
            f"Fast_{tag}", fields, tag_field="type", tag=tag, forbid_unknown_fields=True,
            kw_only=True, gc=False, module=__name__, namespace={"type": tag})
    decoder = msgspec.json.Decoder(Union[tuple(structs.values())])  # noqa: UP007
    return decoder, structs, tuple(sorted(ids))


_DECODER, _STRUCTS, ID_FIELDS = _structs()
_decode = _DECODER.decode
_MARKS = b"{}\\\x7f"  # a message's own two braces, else none of these
# The contract's id rule on a column of ids (None: no id in that message), for batches whose
# raw bytes do not clear them at once.
_ID_COLUMN = SchemaValidator(core_schema.list_schema(core_schema.nullable_schema(
    core_schema.str_schema(pattern=ID_PATTERN))))


def fast_structs(values: list[bytes]) -> tuple[list[Any], list[int]]:
    """Decode every value it can; return the decoded ones in order and the indices of the
    others (never raises for a bytes value). Runs in C except once per failure."""
    out: list[Any] = []
    failed: list[int] = []
    it = iter(values)
    while True:
        try:
            out.extend(map(_decode, it))  # what it appended before a failure stays
            return out, failed
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError,
                RecursionError, OverflowError):
            failed.append(len(out) + len(failed))


def unclear(values: list[bytes]) -> list[int]:
    """Indices of fast-decoded messages whose raw bytes do not show that every string in them
    matches the id rule (no `{`, `}` or control characters, no space first or last): usually
    none, found for the whole batch at once (~0.2 µs per message instead of ~0.25 µs per id).

    A fast-decoded message is one flat JSON object: its only structural braces are its own
    two. Without a backslash every string is its raw bytes (raw control characters are not
    JSON, and msgspec rejects them); `" ` or ` "` is a string starting or ending with a space,
    or a formatting space (unclear either way). Lengths are msgspec's.
    """
    raw = b"".join(values)
    if len(raw) - len(raw.translate(None, _MARKS)) == 2 * len(values) and not _spaced(raw):
        return []
    # Message by message, still in C (only for a batch that was not clear at once).
    marks = map(sub, map(len, values), map(len, map(bytes.translate, values, repeat(None),
                                                    repeat(_MARKS))))
    spaced = map(or_, map(bytes.__contains__, values, repeat(b'" ')),
                 map(bytes.__contains__, values, repeat(b' "')))
    return list(compress(count(), map(or_, map(ne, marks, repeat(2)), spaced)))


def _spaced(raw: bytes) -> bool:
    """`" ` or ` "` in `raw` (split at spaces: a plain search for either costs ~1 ns a byte)."""
    if b" " not in raw:
        return False
    pieces = raw.split(b" ")
    return any(map(bytes.endswith, pieces, repeat(b'"'))) or \
        any(map(bytes.startswith, pieces, repeat(b'"')))


def id_failures(events: list[Any]) -> list[int]:
    """Indices in `events` with an id the contract's pattern rejects (exact: column by column
    in pydantic's own regex engine, for the messages `unclear` names)."""
    bad: set[int] = set()
    for name in ID_FIELDS:
        column = list(map(getattr, events, repeat(name), repeat(None)))
        try:
            _ID_COLUMN.validate_python(column)
        except ValidationError as exc:
            bad.update(cast(int, e["loc"][0])
                       for e in exc.errors(include_url=False, include_input=False) if e["loc"])
    return sorted(bad)


def from_fields(fields: dict[str, Any]) -> Any:
    """The event struct of fields the exact path validated (not validated again)."""
    return _STRUCTS[fields["type"]](**{k: v for k, v in fields.items() if k != "type"})


def to_fields(events: list[Any]) -> list[dict[str, Any]]:
    """Event structs as field dicts (the `type` included; enum fields as their values)."""
    return cast("list[dict[str, Any]]", msgspec.to_builtins(events))
