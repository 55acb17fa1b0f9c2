"""Files a run leaves behind, each written to a temporary name and renamed into place.

A rename within one folder is atomic, so an interrupted run leaves either the complete previous file or
the complete new one, never half of either.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_path",
    "records_path",
    "write_json",
    "write_records",
    "to_json",
    "OutputSet",
    "MANIFEST",
    "printable",
    "checkpoint",
]


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path beside ``target``; on success rename it over ``target``, else delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        checkpoint("writing")  # the temporary file is written, not yet renamed (a test hook)
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
    import json  # here: a run that prints its table writes no JSON

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


# ------------------------------------------------------------------------------- one run's set of files

MANIFEST = "manifest.json"
#: Files simroute writes into an output folder: a folder from before manifests existed loses these when
#: a new run is written there, so that no earlier run's file stays beside the new summary.
KNOWN_OUTPUTS = frozenset(f"{stem}.{fmt}" for stem in ("attempts", "calls") for fmt in ("csv", "parquet")) | {
    "replications.csv",
    "summary.json",
}


def printable(text: str) -> str:
    """``text`` with every character that is not printable written as an escape (``\\n``, ``\\x1b``,
    ``\\u202e``): a name or path shown on a terminal shows what it is, and stays on its line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def checkpoint(phase: str) -> None:
    """A test hook: with ``SIMROUTE_PAUSE_AT`` set to ``phase``, write the file named by
    ``SIMROUTE_PAUSE_FILE`` and wait there (up to two minutes) for the test's signal, so that a test
    interrupts a run in the state it means to, whatever the machine's load. Costs a dict look-up.
    Phases: ``start-up`` (before the heavy imports), ``simulating``, ``writing`` (a temporary file
    written, not yet renamed), ``committing`` (the first file of a set renamed, signals held back)."""
    if os.environ.get("SIMROUTE_PAUSE_AT") != phase:
        return
    import time

    Path(os.environ["SIMROUTE_PAUSE_FILE"]).write_text(phase, encoding="utf-8")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _HELD:  # a signal ends the wait (or is held, in a commit)
        time.sleep(0.01)


class OutputSet:
    """The files of one run in one folder, written so that a reader sees one run's files together.

    Every file is first written into a hidden staging folder inside ``folder`` (so a failed or
    interrupted write, a full disk included, leaves the folder as it was). :meth:`commit` then, with
    SIGINT and SIGTERM held back until it is done: removes the previous ``manifest.json``, renames each
    new file into place, removes the files of an earlier run that this one does not write (those its
    manifest names, and simroute's own output names), and writes the new ``manifest.json`` last: it
    names the run and each file with its size and SHA-256. So a folder holds one complete run's files
    exactly when it has a manifest, and they are the ones it names.

    Opening it checks that ``folder`` can be written, before any simulation is spent.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.staging: Path | None = None
        self.files: list[str] = []

    def __enter__(self) -> "OutputSet":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=".simroute-", suffix=".tmp", dir=self.folder))
        return self

    def __exit__(self, *exc) -> None:
        if self.staging is not None and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)

    @property
    def stage(self) -> Path:
        """The staging folder: write there (directly or through :meth:`path`), then :meth:`commit`."""
        assert self.staging is not None, "open the OutputSet first"
        return self.staging

    def staged_files(self) -> list[str]:
        """The files written into the staging folder so far (temporary ones excluded)."""
        return sorted(p.name for p in self.stage.iterdir() if p.is_file() and not p.name.startswith("."))

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` of this run (in the staging folder)."""
        assert self.staging is not None, "open the OutputSet first"
        if name not in self.files:
            self.files.append(name)
        return self.staging / name

    def commit(self, run: dict) -> Path:
        """Put the staged files in place as one set, described by ``run`` in the manifest."""
        assert self.staging is not None
        present = [name for name in self.files if (self.staging / name).exists()]
        described = {name: _describe(self.staging / name) for name in present}
        manifest = {
            "run": run,
            "id": hashlib.sha256(to_json(described).encode()).hexdigest()[:16],
            "files": described,
        }
        with _held_signals():
            old = self.folder / MANIFEST
            stale = set(KNOWN_OUTPUTS) | set(_manifest_files(old))
            old.unlink(missing_ok=True)
            for i, name in enumerate(present):
                os.replace(self.staging / name, self.folder / name)
                if i == 0:
                    checkpoint("committing")
            for name in sorted(stale - set(present) - {MANIFEST}):
                if "/" not in name and not name.startswith("."):
                    (self.folder / name).unlink(missing_ok=True)
            write_json(manifest, old)
        return self.folder / MANIFEST


_HELD: list[int] = []  # signals that came while a commit held them back


@contextmanager
def _held_signals():
    """SIGINT and SIGTERM wait until the block is done, then act as they would have (Python runs
    signal handlers in the main thread, whichever thread the signal reached)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, _frame: _HELD.append(signum)) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if _HELD:
            first = _HELD[0]
            _HELD.clear()
            signal.raise_signal(first)


def _describe(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _manifest_files(path: Path) -> list[str]:
    """The files an earlier run's manifest names (none when there is none, or it is unreadable)."""
    import json

    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in files if isinstance(name, str)] if isinstance(files, dict) else []
