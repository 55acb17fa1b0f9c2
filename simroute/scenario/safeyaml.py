"""Reading a scenario file without trusting it: bounded size, depth, alias expansion and node count.

``yaml.safe_load`` refuses to run code, but not to spend memory and time: a "billion laughs" file of a
few hundred bytes expands through aliases into more values than any machine holds (PyYAML shares the
repeated objects, and every consumer that walks the data, pydantic first, pays the full expansion); a
few thousand ``[`` exhaust Python's recursion limit in PyYAML's composer, and libyaml's C composer
crashes the interpreter on deep enough nesting; one number of 5,000 digits or a date such as
``2024-13-45`` raises a plain ``ValueError`` from the constructor; and a 1 GB file is read whole before
anything looks at it.

This module builds the Python data straight from the parser's event stream (libyaml's when available),
without PyYAML's node tree, and refuses, with a one-line message naming the line and column:

- a file above :attr:`Limits.max_bytes` (checked with ``fstat`` before reading; for pipes and devices
  reading stops at the limit);
- nesting deeper than :attr:`Limits.max_depth`;
- a document that, with every alias expanded, holds more than :attr:`Limits.max_nodes` values (an
  alias counts as the whole subtree it repeats, which is what a consumer walks);
- an alias to a node that contains it (a recursive structure);
- more than one YAML document in a file; a key given twice in one mapping;
- numbers longer than :attr:`Limits.max_number_chars` characters, tags other than the standard
  scalar ones, and any constructor failure (bad dates, bad base64);
- YAML 1.1's other ways of writing a number, which silently change what was written: an unquoted
  ``0201234567`` is the octal number 33896823, ``1:30`` is 90, ``0x1F``, ``0b101``, ``1_000`` and
  ``+49`` are numbers too, and ``089`` is text. An unquoted number is read only in plain decimal
  (``-12``, ``4930``, ``0.5``, ``1.5e+3``); any other number-like plain scalar is refused with a message
  saying to quote it (a phone number is text: ``"0201234567"``) or to write the number in decimal. A
  number with an explicit tag (``!!int 0x1F``) is read as YAML reads it: the tag says it is meant.

What it builds otherwise equals ``yaml.safe_load``'s result (anchors, aliases and ``<<`` merge keys
included; ``tests/scenario/test_fuzz.py`` checks this on generated documents). The limits are module
defaults (:data:`LIMITS`) that a caller may replace or pass per call.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml import events as _ev

__all__ = ["Limits", "LIMITS", "SafeYamlError", "load", "load_file", "read_text"]

_Loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_TAG + t for t in ("null", "bool", "int", "float", "str", "binary", "timestamp"))
_NUMBER_TAGS = frozenset((_TAG + "int", _TAG + "float"))
_INT, _FLOAT, _STR = _TAG + "int", _TAG + "float", _TAG + "str"
#: How an unquoted number may be written: plain decimal (YAML 1.1 reads more forms, which change meaning).
_PLAIN_NUMBER = {
    _INT: re.compile(r"-?(?:0|[1-9][0-9]*)"),
    _FLOAT: re.compile(
        r"-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    ),
}
#: Plain text that looks like a number: ``089`` (read as text, since 8 and 9 are not octal digits).
_NUMBER_LIKE_TEXT = re.compile(r"[-+]?[0-9][0-9_]*")
_MERGE = _TAG + "merge"
_VALUE = _TAG + "value"
_SEQ = _TAG + "seq"
_MAP = _TAG + "map"


@dataclass(frozen=True)
class Limits:
    """How much a scenario file may ask for. Each bound is far above what a real scenario needs."""

    max_bytes: int = 50 * 2**20  #: file size; 50 MiB holds several 100,000-entry number lists
    max_nodes: int = 2_000_000  #: values after alias expansion (a scalar, list or mapping each 1)
    max_depth: int = 64  #: nesting of lists and mappings (a scenario needs about 8)
    max_number_chars: int = 100  #: characters of one number (ints and floats)


#: The defaults :func:`load_file` uses when no ``limits`` are passed (replaceable by a caller).
LIMITS = Limits()


class SafeYamlError(ValueError):
    """The file cannot be read, is not YAML, or asks for more than the limits; ``str()`` is one line."""

    def __init__(self, message: str, mark=None, prefix: str = "not valid YAML: "):
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        text = f"{prefix}{where}{message}" if (prefix or where) else message
        super().__init__(" ".join(text.splitlines()))


def _short(value: object, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def read_text(path: "str | Path", max_bytes: int | None = None) -> str:
    """The file's UTF-8 text, refusing (without reading it) a regular file larger than ``max_bytes``."""
    limit = LIMITS.max_bytes if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise SafeYamlError("cannot read the file: it is a folder", prefix="")
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise SafeYamlError(
                    f"the file is {_mib(info.st_size)}, more than the {_mib(limit)} a scenario file may have",
                    prefix="",
                )
            if stat.S_ISREG(info.st_mode):
                data = f.read(info.st_size + 1)
                if len(data) > info.st_size:  # it grew since fstat: read on, up to the limit
                    data += _read_up_to(f, limit + 1 - len(data))
            else:  # pipes and devices have no size: read in chunks, stop one byte past the limit
                data = _read_up_to(f, limit + 1)
    except FileNotFoundError:
        raise SafeYamlError("file not found", prefix="") from None
    except IsADirectoryError:
        raise SafeYamlError("cannot read the file: it is a folder", prefix="") from None
    except OSError as exc:
        raise SafeYamlError(f"cannot read the file: {exc.strerror or exc}", prefix="") from None
    if len(data) > limit:
        raise SafeYamlError(f"the file is more than the {_mib(limit)} a scenario file may have", prefix="")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SafeYamlError(
            f"cannot read the file: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            prefix="",
        ) from None


def _read_up_to(f, n: int) -> bytes:
    """At most ``n`` bytes, in chunks (``f.read(n)`` would allocate all ``n`` at once)."""
    chunks, got = [], 0
    while got < n:
        chunk = f.read(min(1 << 16, n - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def load_file(path: "str | Path", limits: Limits | None = None) -> object:
    """The one YAML document in the file at ``path`` as Python data (None for an empty file)."""
    limits = LIMITS if limits is None else limits
    return load(read_text(path, limits.max_bytes), limits)


class _Frame:
    """A list or mapping under construction."""

    __slots__ = ("value", "anchor", "size", "mark", "key", "key_mark", "merge_key", "merges", "key_lines")

    def __init__(self, value, anchor, mark):
        self.value = value
        self.anchor = anchor
        self.size = 1
        self.mark = mark
        self.key = _NO_KEY
        self.key_mark = None
        self.merge_key = False
        self.merges = None
        self.key_lines = None


_NO_KEY = object()
_OPEN = object()  # an anchor whose node is still being built: an alias to it would be recursive


def load(text: str, limits: Limits | None = None) -> object:
    """Python data of the single YAML document in ``text``, as ``yaml.safe_load`` builds it, within limits.

    Raises :class:`SafeYamlError` (one line, with line and column where there is one).
    """
    limits = LIMITS if limits is None else limits
    if len(text) > limits.max_bytes:
        raise SafeYamlError(
            f"the text is more than the {_mib(limits.max_bytes)} a scenario may have", prefix=""
        )
    loader = None
    try:
        loader = _Loader(text)  # the pure-Python reader checks the characters here already
        return _build(loader, limits)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None and isinstance(exc, yaml.reader.ReaderError):
            mark = _mark_at(text, exc.position, in_bytes=not issubclass(_Loader, yaml.reader.Reader))
            problem = f"character #x{exc.character:04x} is not allowed ({exc.reason})"
        else:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SafeYamlError(problem, mark) from None
    except UnicodeEncodeError as exc:  # a str holding lone surrogates (never from a file read as UTF-8)
        raise SafeYamlError(
            f"character #x{ord(text[exc.start]):04x} at offset {exc.start} is not valid Unicode",
            _mark_at(text, exc.start, in_bytes=False),
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


class _Mark:
    __slots__ = ("line", "column")

    def __init__(self, line: int, column: int):
        self.line, self.column = line, column


def _mark_at(text: str, position: int, in_bytes: bool) -> _Mark:
    """Line and column (0-based) of a reader error's offset (libyaml counts bytes, PyYAML characters)."""
    before = (
        text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore")
        if in_bytes
        else text[:position]
    )
    return _Mark(before.count("\n"), len(before) - (before.rfind("\n") + 1))


def _build(loader, limits: Limits) -> object:
    stack: list[_Frame] = []
    anchors: dict[str, Any] = {}
    total = 0  # values so far, aliases expanded
    documents = 0
    root = None
    max_nodes, max_depth = limits.max_nodes, limits.max_depth

    def grow(size, mark):
        nonlocal total
        total += size
        if total > max_nodes:
            raise SafeYamlError(
                f"the document holds more than {max_nodes:,} values with its aliases expanded "
                f"(an alias repeats the whole node it names)",
                mark,
                prefix="YAML too large: ",
            )

    def put(value, size, mark, merge_key=False):
        """Attach a finished value to the list or mapping being built (or make it the document)."""
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        top.size += size
        if type(top.value) is list:
            top.value.append(value)
            return
        if top.key is _NO_KEY:  # this value is a key
            if not merge_key:
                try:
                    hash(value)
                except TypeError:
                    raise SafeYamlError(
                        f"a mapping key must be a plain value, not a {type(value).__name__}", mark
                    ) from None
            top.key, top.key_mark, top.merge_key = value, mark, merge_key
            return
        key, key_mark = top.key, top.key_mark
        top.key = _NO_KEY
        if top.merge_key:
            sources = value if type(value) is list else [value]
            if not all(type(s) is dict for s in sources):
                raise SafeYamlError("a merge key (<<) takes a mapping or a list of mappings", key_mark)
            if (
                top.merges is not None
            ):  # PyYAML versions disagree on which of two wins: refuse, as any duplicate
                raise SafeYamlError("duplicate merge key (<<): use one << with a list of mappings", key_mark)
            top.merges = [sources]
            return
        mapping = top.value
        if key in mapping:
            first = top.key_lines.get(key) if top.key_lines else None
            also = f" (first at line {first})" if first is not None else ""
            raise SafeYamlError(f"duplicate key {_short(key)}{also}", key_mark)
        mapping[key] = value
        if top.key_lines is None:
            top.key_lines = {}
        top.key_lines[key] = key_mark.line + 1

    while True:
        event = loader.get_event()
        kind = type(event)
        if kind is _ev.ScalarEvent:
            grow(1, event.start_mark)
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                too_long = tag in _NUMBER_TAGS and len(event.value) > limits.max_number_chars
                if not event.style and not too_long:  # an unquoted value: a number only as plain decimal
                    _plain_decimal(loader, tag, event)
            key_position = bool(stack) and type(stack[-1].value) is dict and stack[-1].key is _NO_KEY
            if tag == _MERGE and key_position:
                put(None, 1, event.start_mark, merge_key=True)
                continue
            if tag == _VALUE and key_position:
                tag = _TAG + "str"  # PyYAML reads a '=' key as the string '='
            value = _scalar(loader, tag, event, limits)
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
            put(value, 1, event.start_mark)
        elif kind is _ev.MappingStartEvent or kind is _ev.SequenceStartEvent:
            grow(1, event.start_mark)
            if len(stack) >= max_depth:
                raise SafeYamlError(
                    f"lists and mappings nested more than {max_depth} deep",
                    event.start_mark,
                    prefix="YAML too deep: ",
                )
            is_map = kind is _ev.MappingStartEvent
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.MappingNode if is_map else yaml.SequenceNode, None, event.implicit)
            if tag != (_MAP if is_map else _SEQ):
                raise SafeYamlError(
                    f"tag {_short(_tag(tag))} is not supported on a {'mapping' if is_map else 'list'}",
                    event.start_mark,
                )
            if event.anchor is not None:
                anchors[event.anchor] = _OPEN
            stack.append(_Frame({} if is_map else [], event.anchor, event.start_mark))
        elif kind is _ev.MappingEndEvent or kind is _ev.SequenceEndEvent:
            frame = stack.pop()
            value = frame.value
            if frame.merges:
                merged: dict = {}
                for sources in frame.merges:  # in a list of merged mappings, the first wins
                    for source in reversed(sources):
                        merged.update(source)
                merged.update(value)  # the mapping's own keys win over merged ones
                value = merged
            if frame.anchor is not None:
                anchors[frame.anchor] = (value, frame.size)
            put(value, frame.size, frame.mark)
        elif kind is _ev.AliasEvent:
            entry = anchors.get(event.anchor)
            if entry is None:
                raise SafeYamlError(f"found undefined alias {_short(event.anchor)}", event.start_mark)
            if entry is _OPEN:
                raise SafeYamlError(
                    f"alias {_short(event.anchor)} refers to a node that contains it (a recursive structure)",
                    event.start_mark,
                )
            value, size = entry
            grow(size, event.start_mark)
            put(value, size, event.start_mark)
        elif kind is _ev.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise SafeYamlError(
                    "a second YAML document (---); a scenario file holds one", event.start_mark
                )
            anchors.clear()
        elif kind is _ev.StreamEndEvent:
            return root
        # StreamStartEvent, DocumentEndEvent: nothing to do


def _plain_decimal(loader, tag: str, event) -> None:
    """Refuse an unquoted scalar that YAML 1.1 reads as a number written other than in plain decimal, or
    as text although it looks like a number (``089``): either way it would not mean what it shows."""
    text = event.value
    pattern = _PLAIN_NUMBER.get(tag)
    if pattern is not None:
        if pattern.fullmatch(text):
            return
    elif tag != _STR or not _NUMBER_LIKE_TEXT.fullmatch(text):
        return
    if tag == _STR:
        reading = "text, not a number"
    else:
        try:
            number = loader.yaml_constructors[tag](loader, yaml.ScalarNode(tag, text))
            reading = f"the number {_short(number, 30)}"
        except Exception:
            reading = "a number"
    text = text if len(text) <= 40 else text[:37] + "..."
    raise SafeYamlError(
        f'{text} unquoted is read by YAML 1.1 as {reading}: quote it ("{text}") if it is a '
        "phone number or other text, or write the number in plain decimal (digits, no leading 0, no "
        "_ : + 0x 0b)",
        event.start_mark,
        prefix="",
    )


def _scalar(loader, tag: str, event, limits: Limits) -> object:
    """One scalar through SafeLoader's own constructors, refusing what they would choke on."""
    if tag not in _SCALAR_TAGS:
        raise SafeYamlError(f"tag {_short(_tag(tag))} is not supported on a value", event.start_mark)
    if tag in _NUMBER_TAGS and len(event.value) > limits.max_number_chars:
        raise SafeYamlError(
            f"a number of {len(event.value):,} characters (at most {limits.max_number_chars})",
            event.start_mark,
        )
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.yaml_constructors[tag](loader, node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SafeYamlError(problem, event.start_mark) from None
    except Exception as exc:  # int('1' * 5000), date(2024, 13, 45), !!bool maybe...
        detail = f": {exc}" if type(exc) in (ValueError, OverflowError) else ""
        raise SafeYamlError(
            f"cannot read {_short(event.value)} as {_tag(tag)}{detail}", event.start_mark
        ) from None


def _tag(tag: str) -> str:
    """``tag:yaml.org,2002:set`` as it is written, ``!!set``."""
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
