"""vigil's Python tests: the embedded plugin importable as a module, and pytest's pytester."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src" / "execute"))

pytest_plugins = ["pytester"]
