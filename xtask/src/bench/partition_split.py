"""pytest-split's own `least_duration` on the tests and durations vigil's plan printed.

Reads {"splits": N, "ids": [...], "durations": {id: seconds}} on stdin (durations only for
tests history measured: pytest-split gives the others the average itself) and prints the
groups' expected durations as a JSON list.
"""

import json
import sys

from pytest_split.algorithms import Algorithms


class _Item:
    """What the algorithm reads of a pytest item: its node id."""

    def __init__(self, nodeid):
        self.nodeid = nodeid


def main():
    data = json.load(sys.stdin)
    items = [_Item(i) for i in data["ids"]]
    split = Algorithms["least_duration"].value
    groups = split(int(data["splits"]), items, data["durations"])
    json.dump([g.duration for g in groups], sys.stdout)


main()
