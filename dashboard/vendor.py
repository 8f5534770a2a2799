"""Third-party browser assets, served from the Python packages that ship them (never a CDN)."""

from __future__ import annotations

import functools
from pathlib import Path

SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")


@functools.cache
def _plotly_js() -> Path | None:
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@functools.cache
def _swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def vendor_file(name: str) -> Path | None:
    """The file behind /vendor/<name>, or None; only the files listed here are ever served."""
    if name == "plotly.min.js":
        return _plotly_js()
    if name.startswith("swagger-ui/") and name.removeprefix("swagger-ui/") in SWAGGER_FILES:
        folder = _swagger_dir()
        path = folder / name.removeprefix("swagger-ui/") if folder else None
        return path if path and path.is_file() else None
    return None
