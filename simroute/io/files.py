"""Files a run leaves behind, each written to a temporary name and renamed into place.

A rename within one folder is atomic, so an interrupted run leaves either the complete previous file or
the complete new one, never half of either.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "records_path", "write_json", "write_records", "to_json"]


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path beside ``target``; on success rename it over ``target``, else delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a result file is as readable as any other
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(value):
    """JSON has no NaN or infinity: undefined numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def to_json(summary: dict) -> str:
    """summary.json's text: stable key order, so the same run gives the same bytes."""
    return json.dumps(_clean(summary), indent=2, allow_nan=False) + "\n"


def write_json(summary: dict, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(to_json(summary), encoding="utf-8")
    return Path(target)


def records_path(folder: Path, stem: str, fmt: str = "auto") -> Path:
    """``folder/stem.parquet`` (when pyarrow is installed, or asked for) or ``folder/stem.csv``."""
    if fmt == "auto":
        try:
            import pyarrow  # noqa: F401

            fmt = "parquet"
        except ImportError:
            fmt = "csv"
    return Path(folder) / f"{stem}.{fmt}"


def write_records(frame, folder: Path, stem: str, fmt: str = "auto") -> Path:
    """Write a records table as Parquet (when pyarrow is installed, or asked for) or CSV."""
    target = records_path(folder, stem, fmt)
    fmt = target.suffix.lstrip(".")
    with atomic_path(target) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, float_format="%.6f")
    return target
