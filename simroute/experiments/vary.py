"""Scenario fields addressed by names, for sweeps and sizing: ``trunks.pbx-fra.capacity_limit``.

A path walks the scenario's fields; a list of named things (trunks, POPs, DIDs, groups, members...) is
entered by the name (``trunks.pbx-fra``), the number (``dids.493012345678``) or the member's trunk
(``trunk_groups.office.members.pbx-ams``); any list also by its index (``faults.0``). A path that does not
exist names the part that is wrong and the names that do exist. Values are applied to a copy of the
scenario, which is validated again: a value the scenario refuses is reported like a bad file.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel

from ..errors import SimrouteError
from ..scenario.schema import Scenario, load_scenario

__all__ = ["FieldPath", "VaryError", "parse_vary", "parse_values", "resolve", "apply", "field_minimum"]

_KEYS = ("name", "number", "trunk")  # how a list's items are named, in this order of preference


class VaryError(SimrouteError, ValueError):
    """A --vary or --target that does not fit the scenario (one line, naming the part that is wrong)."""


@dataclass(frozen=True)
class FieldPath:
    """A resolved path: ``text`` as the user wrote it and ``steps``, the dict keys and list indexes of the
    scenario's data; ``model`` is the pydantic class holding the last field."""

    text: str
    steps: tuple
    model: type[BaseModel]
    field: str


def _model_of(annotation) -> type[BaseModel] | None:
    """The pydantic model inside a field's type (``Endpoint | None``, ``list[Trunk]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType) or typing.get_origin(annotation) is typing.Annotated:
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def _key_of(model: type[BaseModel]) -> str | None:
    return next((k for k in _KEYS if k in model.model_fields), None)


def resolve(scenario: Scenario, text: str) -> FieldPath:
    """The field ``text`` addresses in ``scenario``; :class:`VaryError` naming the wrong part if none."""
    parts = [p for p in text.split(".")]
    if not text or any(p == "" for p in parts):
        raise VaryError(f"{text!r}: a path is field names joined by dots, e.g. trunks.pbx-fra.capacity_limit")
    node: object = scenario
    model: type[BaseModel] = Scenario
    steps: list = []
    done: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        where = ".".join(done) or "the scenario"
        fields = model.model_fields
        if part not in fields:
            raise VaryError(f"{text}: {where} has no field {part!r} (fields: {', '.join(fields)})")
        annotation = fields[part].annotation
        steps.append(part)
        done.append(part)
        i += 1
        value = getattr(node, part) if node is not None else None
        sub = _model_of(annotation)
        if i == len(parts):
            if sub is not None:
                kind = "list" if _is_list(annotation) else "block"
                raise VaryError(f"{text}: {part} is a {kind} of fields, not a value")
            return FieldPath(text, tuple(steps), model, part)
        if sub is None:
            raise VaryError(f"{text}: {'.'.join(done)} is a value, it has no field {parts[i]!r}")
        if _is_list(annotation):
            items = list(value or [])
            key = _key_of(sub)
            names = [str(getattr(item, key)) for item in items] if key else []
            for k in range(len(parts) - i, 0, -1):  # a name may itself contain dots: longest match first
                candidate = ".".join(parts[i : i + k])
                if candidate in names:
                    index, i = names.index(candidate), i + k
                    break
            else:
                if parts[i].isdigit() and int(parts[i]) < len(items):
                    index, i = int(parts[i]), i + 1
                else:
                    known = ", ".join(names) if names else f"indexes 0 to {len(items) - 1}"
                    what = sub.__name__.lower()
                    raise VaryError(
                        f"{text}: no {what} named {parts[i]!r} in {'.'.join(done)} "
                        f"(known: {known if items else 'none defined'})"
                    )
            steps.append(index)
            done.append(names[index] if names else str(index))
            node = items[index]
        else:
            node = value
        model = sub
    raise VaryError(f"{text}: {'.'.join(done)} is a block of fields, not a value (name one of its fields)")


def field_minimum(path: FieldPath) -> float | None:
    """The smallest value the field accepts (its ``ge``/``gt`` constraint), or None."""
    for meta in path.model.model_fields[path.field].metadata:
        for attr in ("ge", "gt"):
            bound = getattr(meta, attr, None)
            if bound is not None:
                return bound + (1 if attr == "gt" else 0)
    annotation = path.model.model_fields[path.field].annotation
    for arg in typing.get_args(annotation):  # Annotated[int, Field(ge=0)] inside a Union
        for meta in getattr(arg, "__metadata__", ()):
            for inner in getattr(meta, "metadata", [meta]):
                bound = getattr(inner, "ge", None)
                if bound is not None:
                    return bound
    return None


def _number(text: str):
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text  # a name or a keyword (a preset, ``auto``): the scenario decides if it fits
    if not math.isfinite(value):
        raise VaryError(f"{text!r} is not a finite number")
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def parse_values(text: str) -> list:
    """``20,30,40`` (a list) or ``20:60:5`` (from 20 to 60 inclusive in steps of 5; the step defaults
    to 1) into values; whole numbers stay integers."""
    text = text.strip()
    if not text:
        raise VaryError("no values given (a list such as 20,30,40 or a range such as 20:60:5)")
    if ":" in text:
        bits = [_number(b) for b in text.split(":")]
        if len(bits) not in (2, 3) or not all(isinstance(b, (int, float)) for b in bits):
            raise VaryError(f"{text!r}: a range is START:STOP or START:STOP:STEP with numbers")
        start, stop = bits[0], bits[1]
        step = bits[2] if len(bits) == 3 else 1
        if step <= 0 or stop < start:
            raise VaryError(f"{text!r}: a range needs STOP >= START and a positive STEP")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > 100_000:
            raise VaryError(f"{text!r}: {count} values, more than 100000")
        values = [start + k * step for k in range(count)]
        whole = all(isinstance(b, int) for b in bits)
        return [int(v) if whole else round(v, 12) for v in values]
    values = [_number(v) for v in text.split(",") if v.strip()]
    if not values:
        raise VaryError(f"{text!r}: no values")
    return values


def parse_vary(text: str) -> tuple[str, list]:
    """``PATH=VALUES`` into the path text and its values."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip():
        raise VaryError(f"--vary {text!r}: expected PATH=VALUES, e.g. trunks.pbx-fra.capacity_limit=20:60:5")
    return path.strip(), parse_values(values)


def apply(scenario: Scenario, settings: dict[FieldPath, object] | list, label: str | None = None) -> Scenario:
    """A copy of ``scenario`` with each path set to its value, validated again as a whole."""
    data = copy.deepcopy(scenario.model_dump(mode="json", by_alias=True))
    pairs = settings.items() if isinstance(settings, dict) else settings
    described = []
    for path, value in pairs:
        node = data
        for step in path.steps[:-1]:
            if node[step] is None:  # an absent block (endpoint: none): the value starts it
                node[step] = {}
            node = node[step]
        node[path.steps[-1]] = value
        described.append(f"{path.text}={value}")
    return load_scenario(data, name=label or f"{scenario.name} with {', '.join(described)}")
