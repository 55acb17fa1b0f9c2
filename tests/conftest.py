"""Hypothesis in CI: the same examples on every run (derandomized), so a red CI is reproducible; on a
developer's machine the examples stay random, to keep finding new ones."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
