"""Tables as files people open in a spreadsheet: CSV and Excel, with formulas neutralised.

A cell that starts with =, +, -, @ (or a tab or carriage return), also after leading spaces,
line breaks or other control characters that spreadsheets skip, would run as a formula when the
file is opened (OWASP "CSV injection"). Every exported text cell that starts so gets a leading
apostrophe, which spreadsheets show as text; numbers stay numbers, so a negative amount is not
touched. A value a format cannot hold exactly (a cell longer than Excel allows) is refused with
a sentence, never cut.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cx.errors import CxError

# A tab or carriage return first, or a formula character after any whitespace, control or
# invisible formatting characters (zero-width, bidi marks, byte-order mark).
FORMULA_START = re.compile(r"^(?:[\t\r]|[\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]*[=+\-@])")
EXCEL_CELL_LIMIT = 32_767  # characters an Excel cell holds


class ExportRefused(CxError):
    """A table that cannot be written to the chosen format or file without losing something."""


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet might read this text as a formula."""
    return bool(FORMULA_START.match(text))


def _neutral_cell(value):
    if isinstance(value, str) and is_formula_like(value):
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
    sheets = {name: neutralise(table) for name, table in
              (tables if isinstance(tables, dict) else {sheet: tables}).items()}
    refusal = excel_refusal(sheets, neutralised=True)
    if refusal:
        raise ExportRefused(refusal)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in sheets.items():
            for column in table.columns:
                if isinstance(table[column].dtype, pd.DatetimeTZDtype):
                    table[column] = table[column].dt.tz_localize(None)
            table.to_excel(writer, sheet_name=sheet_name(name), index=False)
    return buffer.getvalue()


def excel_refusal(tables: dict[str, pd.DataFrame], *, neutralised: bool = False) -> str | None:
    """Why these tables cannot go to Excel whole, naming the first text cell Excel would cut (over
    32,767 characters) or cannot hold (control characters): table, row and column; None when every
    cell fits. A round trip through Excel must give back every value."""
    for name, table in tables.items():
        table = table if neutralised else neutralise(table)
        for column in table.columns:
            if not pd.api.types.is_object_dtype(table[column]):
                continue
            text = table[column].map(lambda v: v if isinstance(v, str) else "")
            too_long = text.str.len() > EXCEL_CELL_LIMIT
            illegal = text.map(lambda v: bool(ILLEGAL_CHARACTERS_RE.search(v)))
            for bad, why in ((too_long, lambda v: f"{len(v):,} characters, more than the {EXCEL_CELL_LIMIT:,} an "
                                                  "Excel cell holds"),
                             (illegal, lambda v: "control characters an Excel cell cannot hold")):
                if bad.any():
                    row = int(bad.to_numpy().argmax())
                    return (f"{name}, row {row + 2} (column {column}): {why(text.iloc[row])}; "
                            "export as CSV or Parquet, which keep every value whole")
    return None


def write_file(path: Path | str, data: bytes, *, force: bool = False, keep: tuple[Path, ...] = ()) -> Path:
    """Write `data` to `path` through a temporary file in the same folder, renamed when complete,
    so an interrupted write leaves no partial file. Refuses to overwrite the files in `keep`
    (the database) at all, and any other existing file unless `force`."""
    path = Path(path)
    for kept in keep:
        if path.resolve() == Path(kept).resolve() or (path.exists() and Path(kept).exists()
                                                      and os.path.samefile(path, kept)):
            raise ExportRefused(f"{path} is the database; choose another --output")
    if path.exists() and not force:
        raise ExportRefused(f"{path} already exists; choose another --output, or add --force to replace it")
    if path.is_dir():
        raise ExportRefused(f"{path} is a folder; give --output a file name")
    if not path.parent.is_dir():
        raise ExportRefused(f"the folder {path.parent} does not exist")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
