"""The package's public surface: every exported name resolves, and importing the
package or its command line does not load torch."""

from __future__ import annotations

import subprocess
import sys

import timesteps as ts


def test_every_exported_name_resolves() -> None:
    missing = [name for name in ts.__all__ if getattr(ts, name, None) is None]
    assert missing == []
    assert set(ts.__all__) - {"__version__", "format_shape"} == set(ts._EXPORTS)


def test_import_is_light() -> None:
    code = (
        "import sys, timesteps, timesteps.cli; "
        "heavy = ('torch', 'pandas', 'matplotlib'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_explain_is_the_function_however_the_package_was_imported() -> None:
    import timesteps.explain.diagram  # noqa: F401  binds the subpackage name

    model = ts.Sequential([ts.SimpleRNN(10), ts.Dense(1)], input_shape=(3, 1))
    assert ts.explain(model).rows[0].params == 130
