"""JSON:API documents as DIDWW's API returns them: read, checked and merged into one set of resources.

A document is a single resource, a list, or a compound document with ``included``; several documents
may describe the same resource (a list, then a ``show`` with more relationships): the later document's
attributes win, as a later response is the newer state, and a relationship a later document does not
carry is kept from the earlier one. Every problem names the file and the JSON pointer of the value.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ScenarioError

__all__ = ["DocumentError", "Linkage", "Relationship", "Resource", "Stored", "read_documents"]

MAX_BYTES = 200 * 1024 * 1024  # an API export of a large account is tens of MiB at most


class DocumentError(ScenarioError):
    """A document that cannot be imported: ``file: /json/pointer: what is wrong``."""

    def __init__(self, source: str, pointer: str, message: str):
        super().__init__(source, [(pointer, message)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class Linkage(_Strict):
    """A resource identifier: ``{"type": ..., "id": ...}``."""

    type: str
    id: str


class Relationship(_Strict):
    """``data`` absent (links only: not loaded, unknown), null (none), one linkage or a list."""

    data: Linkage | list[Linkage] | None = None

    @property
    def loaded(self) -> bool:
        return "data" in self.model_fields_set

    @property
    def targets(self) -> list[Linkage]:
        if self.data is None:
            return []
        return self.data if isinstance(self.data, list) else [self.data]


class Resource(_Strict):
    type: str
    id: str | None = None  # a request body has none
    attributes: dict[str, Any] = {}
    relationships: dict[str, Relationship] = {}


@dataclass
class Stored:
    """One resource, merged over every document that holds it, with where each value came from."""

    type: str
    id: str
    source: str  # the file of its first appearance
    pointer: str  # its JSON pointer there
    attributes: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, tuple[str, str]] = field(default_factory=dict)  # attribute -> (file, pointer)
    relationships: dict[str, Relationship] = field(default_factory=dict)
    rel_origin: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How messages name it: its type and id (a request body's resource has no id: its place)."""
        return f"{self.type} {self.id}" if "#" not in self.id else f"the {self.type} at {self.pointer}"

    def where(self, attribute: str | None = None) -> tuple[str, str]:
        """(file, pointer) of an attribute, a relationship, or the resource itself."""
        if attribute is not None:
            if attribute in self.origin:
                return self.origin[attribute]
            if attribute in self.rel_origin:
                return self.rel_origin[attribute]
        return self.source, self.pointer


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def pointer(*parts) -> str:
    """RFC 6901 pointer of a path: ``("data", 0, "attributes")`` -> ``/data/0/attributes``."""
    return "".join(f"/{_escape(p)}" for p in parts)


def _load_json(path: Path, label: str) -> object:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(label, "", f"cannot read the file ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise DocumentError(
            label, "", f"the file is {size / 2**20:.0f} MiB, over the {MAX_BYTES >> 20} MiB limit"
        )
    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentError(label, "", "the file is empty (expected a JSON:API document)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            label, "", f"not UTF-8 text (byte {exc.start}): expected a JSON:API document"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            label, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise DocumentError(label, "", "JSON nested too deeply") from None


def _api_error(label: str, errors: object) -> DocumentError:
    """An API error body (404, 422...) is refused with what the API said."""
    first: dict = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    parts = [str(first.get(k)) for k in ("status", "code", "title") if first.get(k) is not None]
    detail = first.get("detail")
    source: dict = first["source"] if isinstance(first.get("source"), dict) else {}
    said = " ".join(dict.fromkeys(parts)) + (f": {detail}" if detail and detail not in parts else "")
    if source.get("pointer"):
        said += f" (at {source['pointer']})"
    more = f" and {len(errors) - 1} more" if isinstance(errors, list) and len(errors) > 1 else ""
    return DocumentError(
        label,
        "/errors",
        f"an API error response, not resources: {reprlib.repr(said or 'no details')}{more}",
    )


def _validation_message(exc: ValidationError, base: tuple) -> tuple[str, str]:
    error = exc.errors()[0]
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("list[", "Linkage")))]
    got = reprlib.repr(error.get("input"))
    message = error["msg"]
    if error["type"] == "missing":
        return pointer(*base, *loc[:-1]), f"missing member {loc[-1]!r}"
    return pointer(*base, *loc), f"{message[0].lower()}{message[1:]} (got {got})"


def _resources(document: object, label: str):
    """Yield ``(pointer, Resource)`` for each resource of one document (primary data, then included)."""
    if not isinstance(document, dict):
        raise DocumentError(
            label, "", f"not a JSON:API document: expected an object, got {type(document).__name__}"
        )
    if "errors" in document:
        raise _api_error(label, document["errors"])
    if "data" not in document:
        raise DocumentError(label, "", "not a JSON:API document: no 'data' member")
    data = document["data"]
    entries: list[tuple[tuple, object]] = []
    if isinstance(data, list):
        entries += [(("data", i), r) for i, r in enumerate(data)]
    elif data is not None:
        entries.append((("data",), data))
    included = document.get("included", [])
    if not isinstance(included, list):
        raise DocumentError(label, "/included", f"expected an array, got {type(included).__name__}")
    entries += [(("included", i), r) for i, r in enumerate(included)]
    for base, raw in entries:
        if not isinstance(raw, dict):
            raise DocumentError(
                label, pointer(*base), f"expected a resource object, got {type(raw).__name__}"
            )
        try:
            yield base, Resource.model_validate(raw)
        except ValidationError as exc:
            where, message = _validation_message(exc, base)
            raise DocumentError(label, where, message) from None


def read_documents(sources, aliases: dict[str, str] | None = None):
    """Every resource in ``sources`` (paths, or dicts already parsed), keyed by ``(type, id)``, in order
    of first appearance; and the labels of the sources. ``aliases`` renames resource types (older API
    versions' names), in resources and in relationship linkages alike."""
    aliases = aliases or {}
    store: dict[tuple[str, str], Stored] = {}
    labels = []
    for n, source in enumerate(sources):
        document: object
        if isinstance(source, dict):
            label, document = f"<document {n + 1}>", source
        else:
            label = str(source)
            document = _load_json(Path(source), label)
        labels.append(label)
        for base, res in _resources(document, label):
            where = pointer(*base)
            kind = aliases.get(res.type, res.type)
            key = (kind, res.id if res.id is not None else f"#{label}#{where}")
            item = store.get(key)
            if item is None:
                item = store[key] = Stored(kind, key[1], label, where)
            for name, value in res.attributes.items():
                item.attributes[name] = value
                item.origin[name] = (label, pointer(*base, "attributes", name))
            for name, rel in res.relationships.items():
                if rel.loaded or name not in item.relationships:
                    item.relationships[name] = rel
                    item.rel_origin[name] = (label, pointer(*base, "relationships", name))
    return store, labels
