"""Deferred imports: a stand-in that runs the module only when it is used, in a fresh interpreter each."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from hypewatch.settings import PROJECT_ROOT


def run_python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_a_deferred_module_runs_only_when_something_reads_from_it():
    out = run_python("""
        import sys
        from hypewatch.deferred_imports import defer_imports

        defer_imports("scipy.stats")
        import sklearn.base  # imports scipy.stats as it starts
        import scipy.stats
        from scipy import stats
        assert stats is scipy.stats
        assert "scipy.stats._stats_py" not in sys.modules, "ran at import"
        assert stats.spearmanr([1, 2, 3], [1, 2, 4]).statistic == 1.0  # the first use imports it
        assert "scipy.stats._stats_py" in sys.modules
        from scipy.stats import kendalltau
        import scipy.stats._stats_py
        assert "kendalltau" in dir(stats) and kendalltau is stats.kendalltau
        print(type(sys.modules["scipy.stats"]).__name__)
    """)
    assert out == "module"  # the real module replaced the stand-in


def test_an_imported_or_missing_module_is_left_alone():
    out = run_python("""
        import json, sys
        from hypewatch.deferred_imports import defer_imports

        defer_imports("json", "no_such_module_here")
        print(sys.modules["json"] is json, "no_such_module_here" in sys.modules)
    """)
    assert out == "True False"
