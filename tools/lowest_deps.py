#!/usr/bin/env python3
"""Print the lowest versions pyproject.toml allows for kubeuser's runtime dependencies, as pins.

    pip install $(python tools/lowest_deps.py)     # what CI's "lowest" unit job runs against

Every runtime dependency must have a ``>=`` floor; this fails when one does not, so a floor that is
claimed is a floor that is tested.
"""

from __future__ import annotations

import pathlib
import re
import sys

PYPROJECT = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"


def pins(text: str) -> list[str]:
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    if block is None:
        raise SystemExit("pyproject.toml: no [project] dependencies list")
    out = []
    for spec in re.findall(r'^\s*"([^"]+)"', block.group(1), re.M):
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9A-Za-z.]*)(,<[^,]+)?", spec.replace(" ", ""))
        if m is None:
            raise SystemExit(f"pyproject.toml: {spec!r} has no plain >= floor")
        out.append(f"{m.group(1)}=={m.group(2)}")
    return out


if __name__ == "__main__":
    sys.stdout.write(" ".join(pins(PYPROJECT.read_text(encoding="utf-8"))) + "\n")
