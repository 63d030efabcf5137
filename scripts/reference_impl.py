"""Load a previous implementation of yulin_gis modules from git, for benchmarks only.

Speed-ups must keep results identical: the benchmarks run the reference (the code as it
was before the speed-up, commit :data:`REFERENCE_COMMIT` by default) beside the current
code on the same data and compare row by row. The old sources are read with
``git show COMMIT:path`` into a temporary package, never copied into ``yulin_gis``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REFERENCE_COMMIT = "e99adbed32a8111ba38ae9531690539be0a27f2e"
ROOT = Path(__file__).resolve().parents[1]


def load_reference(modules: list[str], commit: str = REFERENCE_COMMIT) -> dict[str, ModuleType]:
    """Import ``yulin_gis.<name>`` for each name as it was at ``commit``.

    The modules are loaded as ``yulin_gis_ref.<name>``; their ``yulin_gis.<name>`` imports
    of each other are redirected to the reference copies, other imports use the current
    package. Raises ``RuntimeError`` when git or the commit is not available.
    """
    tmp = Path(tempfile.mkdtemp(prefix="yulin_gis_ref_"))
    pkg = tmp / "yulin_gis_ref"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in modules:
        try:
            src = subprocess.run(["git", "show", f"{commit}:yulin_gis/{name}.py"], cwd=ROOT,
                                 check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RuntimeError(f"cannot read yulin_gis/{name}.py at {commit} with git: {exc}") from exc
        for other in modules:
            src = src.replace(f"from yulin_gis.{other} import", f"from yulin_gis_ref.{other} import")
        (pkg / f"{name}.py").write_text(src)
    sys.path.insert(0, str(tmp))
    out: dict[str, ModuleType] = {}
    for name in modules:
        spec = importlib.util.spec_from_file_location(f"yulin_gis_ref.{name}", pkg / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[f"yulin_gis_ref.{name}"] = mod
        spec.loader.exec_module(mod)
        out[name] = mod
    return out
