"""Tables as files people open in a spreadsheet: CSV and Excel, with formulas neutralised.

A cell that starts with =, +, -, @ (or a tab or carriage return, which some spreadsheets skip
before reading a formula) would run as a formula when the file is opened (OWASP "CSV injection").
Every exported text cell that starts so gets a leading apostrophe, which spreadsheets show as
text; numbers stay numbers, so a negative amount is not touched.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutral_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, (list, tuple)):
        return _neutral_cell("; ".join(map(str, value)))
    return value


def neutralise(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` whose text cells (and column names) cannot run as formulas; lists
    (e.g. ecosystems) become '; '-joined text."""
    result = table.copy()
    for column in result.columns:
        if not (pd.api.types.is_numeric_dtype(result[column]) or pd.api.types.is_datetime64_any_dtype(result[column])):
            result[column] = result[column].map(_neutral_cell).astype(object)
    result.columns = [_neutral_cell(str(c)) for c in result.columns]
    return result


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so Excel reads accents right), formulas neutralised.

    Rows end in CRLF as RFC 4180 has them, which also makes the writer quote a cell holding a
    lone carriage return (with "\n" alone it would not, and the row would break in two)."""
    return neutralise(table).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def sheet_name(name: str) -> str:
    """A sheet name within Excel's 31 characters, cut after a whole word ("Exchanges stalled past
    a deadline" becomes "Exchanges stalled past a", not "…past a deadli"), without the characters
    Excel refuses (: \\ / ? * [ ])."""
    name = re.sub(r"\s*[:\\/?*\[\]]+\s*", " ", name).strip()
    if len(name) <= 31:
        return name
    words = name[:32].rsplit(" ", 1)[0].rstrip(" ,;:–-")
    return words if 0 < len(words) <= 31 else name[:31]


def to_excel_bytes(tables: pd.DataFrame | dict[str, pd.DataFrame], sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet per table (a single table goes in `sheet`), formulas
    neutralised; time zones are dropped (Excel has none)."""
    sheets = tables if isinstance(tables, dict) else {sheet: tables}
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table = neutralise(table)
            for column in table.columns:
                if isinstance(table[column].dtype, pd.DatetimeTZDtype):
                    table[column] = table[column].dt.tz_localize(None)
            table.to_excel(writer, sheet_name=sheet_name(name), index=False)
    return buffer.getvalue()
