"""Run every example in small mode and record what it prints, for the docs.

Each ``docs/examples/<example>.md`` page includes the matching file written
here (``docs/examples/output/<example>.txt``), and example 3 also writes its
diagram there. Rerun after changing an example:

    python examples/record_outputs.py            # all examples
    python examples/record_outputs.py 03 05      # only these

Printed shapes and parameter counts are exact; losses, accuracies and timings
are those of the machine that recorded them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
OUTPUT = ROOT.parent / "docs" / "examples" / "output"


def record(script: Path) -> Path:
    spec = importlib.util.spec_from_file_location(f"example_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kwargs = (
        {"out_dir": OUTPUT} if "out_dir" in module.main.__code__.co_varnames else {}
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module.main(small=True, **kwargs)
    path = OUTPUT / f"{script.stem}.txt"
    path.write_text(printed.getvalue(), encoding="utf-8")
    return path


def main(only: list[str]) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for script in sorted(ROOT.glob("[0-9][0-9]_*.py")):
        if not only or script.stem[:2] in only:
            print(f"{script.name} -> {record(script).relative_to(ROOT.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
