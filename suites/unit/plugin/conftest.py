"""Makes the embedded plugin importable as a module and gives tests pytest's pytester."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "src" / "execute"))

pytest_plugins = ["pytester"]
