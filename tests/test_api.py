"""The public API: every exported name resolves."""

from __future__ import annotations

import yulin_gis


def test_every_public_name_resolves() -> None:
    for name in yulin_gis.__all__:
        assert getattr(yulin_gis, name) is not None, name


def test_errors_inherit_builtins() -> None:
    assert issubclass(yulin_gis.SchemaError, ValueError)
    assert issubclass(yulin_gis.InputFileError, OSError)
    assert issubclass(yulin_gis.ValidationError, yulin_gis.YulinGisError)


def _public_functions() -> dict[str, object]:
    import inspect

    return {n: getattr(yulin_gis, n) for n in yulin_gis.__all__
            if inspect.isfunction(getattr(yulin_gis, n))}


# Data parameters that are optional and so carry a default, yet are not options.
_OPTIONAL_DATA = {("package_funding", "compounds"), ("load_profile", "path")}


def test_options_are_keyword_only() -> None:
    import inspect

    loose = []
    for name, func in _public_functions().items():
        for p in inspect.signature(func).parameters.values():  # type: ignore[arg-type]
            if (p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty
                    and (name, p.name) not in _OPTIONAL_DATA):
                loose.append(f"{name}({p.name}=...)")
    assert loose == []


def test_output_paths_come_last() -> None:
    import inspect

    for name, func in _public_functions().items():
        if not name.startswith(("write_", "render_")):
            continue
        positional = [p.name for p in inspect.signature(func).parameters.values()  # type: ignore[arg-type]
                      if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional[-1].endswith("path"), (name, positional)


def test_every_returned_type_is_importable_from_the_package() -> None:
    import builtins
    import inspect
    import re

    external = {"Path", "Any", "None"}
    missing = set()
    for name, func in _public_functions().items():
        ret = inspect.signature(func).return_annotation  # type: ignore[arg-type]
        text = ret if isinstance(ret, str) else getattr(ret, "__name__", str(ret))
        for word in re.findall(r"(?<![\w.])([A-Za-z_]\w*)(?![\w.])", text):
            if word[0].isupper() and word not in external and not hasattr(builtins, word):
                if word.startswith("_"):
                    continue
                if word not in yulin_gis.__all__:
                    missing.add(f"{name} -> {word}")
    assert missing == set()
    for cls in ("PackageResult", "PlanResult", "StaticLayer", "Layers", "Problem", "RunResult",
                "MapPage", "ValidationReport", "NetworkSet", "WalkNetwork", "LocalEngine"):
        assert isinstance(getattr(yulin_gis, cls), type), cls


def test_every_public_name_is_in_the_api_reference() -> None:
    """docs/api/api.rst documents every name of ``yulin_gis.__all__`` (built by scripts/build_docs.sh)."""
    import re
    from pathlib import Path

    rst = (Path(__file__).resolve().parents[1] / "docs" / "api" / "api.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. (?:autofunction|autoclass|autoexception|data):: (\w+)", rst, re.M))
    assert set(yulin_gis.__all__) == documented
