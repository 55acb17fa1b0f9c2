"""Where the bundled files are, wherever pytest is started from."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
CORPUS = ROOT / "tests" / "corpus"
