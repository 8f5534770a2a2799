"""CSV cells that a spreadsheet shows as data: crawled text must never run as a formula.

Spreadsheets evaluate a cell that starts with `=`, `+`, `-` or `@` (and some with a tab or
carriage return first), so such a cell gets a leading apostrophe. Every CSV hypewatch writes (the
dashboard's export and `hypewatch export`) goes through `safe_cell`.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: safe_cell(value) for key, value in row.items()}
