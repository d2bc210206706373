"""Registrations and exchanges in and out: CSV, Excel and Parquet files, checked row by row.

An import reads the file (refusing one above the limits before reading it whole), checks every
row against a pandera schema built from the rulebook (required columns, types, countries, kinds,
ecosystems, duplicate ids) and then against what only the database and the rules know (cities
the gazetteer can place, organisations that exist, exchanges that break the call's rules). The
report names each finding's row in the file, column, value and rule. Rows are upserted on their
id in one transaction, so a failure or a killed process leaves the database as it was.

Working days, distance and lump sum are computed on import; a lump sum in the file that differs
from the rulebook's is kept (it is what was agreed) and flagged in the report.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import xml.sax
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandera import Check
from rapidfuzz import process

from cx import DATA_DIR
from cx import evidence
from cx.access import CONTACT_COLUMNS, MANAGER, Viewer, scoped
from cx.closing import exported_evidence
from cx.ecosystems import ECOSYSTEMS, aliases
from cx.errors import CxError, FileTooLarge, IneligibleCountry, UnknownCity, UnknownCountry, UnreadableFile
from cx.exchanges import (ORDER, STAY_COLUMNS, STEPS_OF_THEIR_OWN, reachable, repeat_breach, repeats, started_already,
                          tell_moves)
from cx.export import EXCEL_CELL_LIMIT, excel_refusal, is_formula_like
from cx.formats import euros
from cx.parties import DOCUMENTS
from cx.geo import Gazetteer, distance_km, gazetteer
from cx.missions import mission_rows
from cx.money import partnerships_with_allocations
from cx.profiles import SHOWN_TO
from cx.rules import Rulebook, load_rulebook
from cx.store import BIDI_CONTROLS, ORGANISATION_KINDS, ORGANISATION_RECORDS, STATUSES, TEXT_LIMITS, Store, insert_frame, text_too_long

TEMPLATES_DIR = DATA_DIR / "templates"
KINDS = ("partnerships", "organisations", "missions", "exchanges")  # in the order files import cleanly
EVIDENCE_FOLDER = "evidence"  # in the whole archive's zip: each evidence file, named by its SHA-256
FORMATS = {".csv": "CSV", ".txt": "CSV", ".xlsx": "Excel", ".xlsm": "Excel", ".parquet": "Parquet"}
MODES = {"all": "import nothing unless every row passes", "valid": "import the valid rows, report the rest"}
# Years a date may have: wider than any programme, narrow enough that no date arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 1990, 2100


@dataclass(frozen=True)
class Limits:
    """What an import accepts: files above these are refused before they are read whole."""

    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000
    # A workbook is a zip: what it unpacks to is what reading it costs (300 KB can hold 1.5 GB).
    max_unpacked_bytes: int = 300 * 1024 * 1024


@dataclass(frozen=True)
class Field:
    """One column of an import file, as the template documents it."""

    name: str
    type: str  # text, integer, number, date, boolean, list
    required: bool
    help: str
    example: str = ""
    computed: bool = False  # written by cx on import; the file's value is not stored


FIELDS: dict[str, tuple[Field, ...]] = {
    "partnerships": (
        Field("id", "text", True, "The partnership's unique id; re-importing a row with the same id updates it.", "EX-P1"),
        Field("name", "text", True, "The partnership's name.", "EuroCluster Digital Partnership 1"),
        Field("ecosystems", "list", False, "Industrial ecosystems it covers, separated by ';' (the 14 of the EU "
              "industrial strategy, e.g. 'Digital; Health').", "Digital; Electronics"),
        Field("target_exchanges", "integer", True, "How many exchanges it aims at (a whole number, 0 or more).", "100"),
        Field("allocation_eur", "integer", False, "The money allocated to its visitors' lump sums, in whole euros "
              "(0 or more); an empty cell clears it, and a file without the column keeps the stored ones.", "110000"),
    ),
    "organisations": (
        Field("id", "text", True, "The organisation's unique id; re-importing a row with the same id updates it.",
              "EX-O1"),
        Field("name", "text", True, "The organisation's name.", "Porto Digital Cluster"),
        Field("kind", "text", True, "One of: " + ", ".join(ORGANISATION_KINDS) + " ('other': large companies, "
              "public authorities, universities, training providers; they may only host).", "cluster organisation"),
        Field("country", "text", True, "Where it is registered, as an ISO-2 code of an eligible country "
              "(DE, PT, XK...).", "PT"),
        Field("city", "text", True, "Its city; cx places it with the offline gazetteer (cities of 15,000+ "
              "inhabitants) unless lat and lon are given.", "Porto"),
        Field("lat", "number", False, "Latitude in degrees, for places the gazetteer does not know "
              "(give lon too).", ""),
        Field("lon", "number", False, "Longitude in degrees (with lat).", ""),
        Field("partnership_id", "text", False, "The id of the partnership it registered through (must exist).", "EX-P1"),
        Field("member_of", "text", False, "The cluster organisation it is a member of: needed for an SME or a "
              "scaling-up support organisation to visit, and for kind 'other' to host (data/rules/call.toml, "
              "[participants]).", ""),
        Field("ecosystems", "list", False, "Its industrial ecosystems, separated by ';' (other names EU documents "
              "use, such as 'Renewable Energy', are stored under cx's: data/rules/aliases.csv).", "Digital"),
        Field("sectors", "text", False, "Sectors and technologies, free text.", "cybersecurity; cloud computing"),
        Field("description", "text", False, "Its profile, as visitors will read it.", "A cluster of software firms."),
        Field("can_host", "boolean", False, "yes or no (default yes).", "yes"),
        Field("can_visit", "boolean", False, "yes or no (default yes, and no for kind 'other').", "yes"),
        Field("contact_name", "text", False, "The contact person (personal data: exported only when asked).",
              "Ana Silva"),
        Field("contact_email", "text", False, "The contact's e-mail (personal data: exported only when asked).",
              "ana@example.org"),
        Field("registered_on", "date", False, "Date of registration, YYYY-MM-DD (or DD.MM.YYYY, DD/MM/YYYY).",
              "2025-01-15"),
        Field("looking_for", "text", False, "What it looks for in a host, in its own words (hosts find visitors by "
              "it, as looking_for_shown_to allows).", "A host working on digital twins for moulding."),
        Field("looking_for_shown_to", "text", False, "Which hosts may read looking_for: " + ", ".join(
              f"{choice} ({meaning})" for choice, meaning in SHOWN_TO.items()) + "; default nobody.", "all"),
    ),
    "missions": (
        Field("id", "text", True, "The group mission's unique id; re-importing a row with the same id updates it.",
              "EX-M1"),
        Field("name", "text", True, "The mission's name.", "Textile mission to Porto"),
        Field("partnership_id", "text", True, "The partnership that runs it, whose visitors travel (must exist).",
              "EX-P1"),
        Field("start_date", "date", True, "First day at the hosts, YYYY-MM-DD.", "2026-03-02"),
        Field("end_date", "date", True, "Last day at the hosts, YYYY-MM-DD.", "2026-03-04"),
        Field("agenda", "text", False, "The agenda the visitors share, by day.",
              "Day 1: welcome by the host cluster. Day 2: company visits. Day 3: B2B meetings."),
    ),
    "exchanges": (
        Field("id", "text", True, "The exchange's unique id; re-importing a row with the same id updates it.",
              "EX-X1"),
        Field("visitor_id", "text", True, "The id of the visiting organisation (must be in cx already).", "EX-O1"),
        Field("host_id", "text", True, "The id of the host organisation, in another eligible country.", "EX-O2"),
        Field("start_date", "date", True, "First day at the host (travel excluded), YYYY-MM-DD.", "2026-03-02"),
        Field("end_date", "date", True, "Last day at the host, YYYY-MM-DD; 3 working days to one month.",
              "2026-03-06"),
        Field("status", "text", False, "One of: " + ", ".join(STATUSES) + " (default requested). An import "
              "moves a stored exchange forward along the workflow, never back.", "requested"),
        Field("objectives", "text", False, "What the visitor comes to learn or do.", "Explore new markets."),
        Field("activities", "list", False, "Activities during the stay, separated by ';'.", "market research"),
        Field("lump_sum_eur", "integer", False, "The lump sum agreed, in whole euros. Leave empty to have cx "
              "compute it; a value that differs from the rulebook's is kept and flagged.", ""),
        Field("working_days", "integer", False, "Computed by cx from the dates and the host country's public "
              "holidays; a value in the file is ignored.", "", computed=True),
        Field("distance_km", "number", False, "Computed by cx between the two organisations; ignored on import.",
              "", computed=True),
        Field("halved", "boolean", False, "Computed by cx (under 5 working days or 200 km); ignored on import.",
              "", computed=True),
        Field("mission_id", "text", False, "The group mission it travels in, if any (the mission must be in cx "
              "already: partnership managers create missions on the Group missions page).", ""),
    ),
}


# --- findings ----------------------------------------------------------------------------------

FINDING_COLUMNS = ["row", "column", "value", "rule", "message", "outcome"]


def _finding(row, column, value, rule, message, outcome="rejected") -> dict:
    return {"row": row, "column": column, "value": "" if value is None else str(value)[:200], "rule": rule,
            "message": message, "outcome": outcome}


@dataclass
class ImportReport:
    """What an import found and did. `findings` has one row per broken rule: the row in the file
    (the header is row 1), the column, the value, the rule and a sentence; `outcome` is
    'rejected' (the row was not imported) or 'flagged' (imported, worth a look)."""

    kind: str
    file: str
    mode: str
    dry_run: bool
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    flagged: int = 0
    written: bool = False
    details: dict = field(default_factory=dict)  # format, encoding, delimiter, sheet, ignored columns
    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FINDING_COLUMNS))

    def summary(self) -> str:
        """One sentence: what happened to the file's rows."""
        counts = (f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
                  f"{self.rejected:,} rejected" + (f", {self.flagged:,} flagged" if self.flagged else ""))
        rows = f"{self.rows:,} {self.kind} row{'s' * (self.rows != 1)} in {self.file}"
        if self.dry_run:
            return f"Dry run, nothing written: {rows} would give {counts}."
        if self.written:
            return f"Imported {rows}: {counts}."
        if self.rejected and self.mode == "all":
            passing = self.added + self.updated
            return (f"Nothing imported: {self.rejected:,} of {rows} rejected, and every row had to pass"
                    + (f" (import the valid rows to take the other {passing:,})." if passing else "."))
        if self.rejected:
            return f"Nothing imported: every one of {rows} was rejected or unchanged ({counts})."
        return f"Nothing to change: {rows}: {counts}."

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "file": self.file, "mode": self.mode, "dry_run": self.dry_run, "rows": self.rows,
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected,
            "flagged": self.flagged, "written": self.written, "details": self.details,
            "findings": self.findings.astype(object).where(self.findings.notna(), None).to_dict("records"),
        }


# --- reading files -----------------------------------------------------------------------------

@dataclass
class Table:
    """A file's rows as text, indexed by their row number in the file, and what reading found."""

    frame: pd.DataFrame
    details: dict
    findings: list[dict]


def file_format(filename: str) -> str:
    """'CSV', 'Excel' or 'Parquet' from the file's extension, or UnreadableFile."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise UnreadableFile(f"{Path(filename).name}: cx reads .csv, .xlsx and .parquet files, not {suffix or 'files without an extension'!r}")
    return FORMATS[suffix]


def _check_size(size: int, filename: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise FileTooLarge(f"{Path(filename).name} is {size / 1e6:,.1f} MB; the limit is "
                           f"{limits.max_bytes / 1e6:,.1f} MB (split the file or raise the limit)")


def _too_many_rows(filename: str, limits: Limits) -> FileTooLarge:
    return FileTooLarge(f"{Path(filename).name} has more than {limits.max_rows:,} rows, the limit "
                        "(split the file or raise the limit)")


UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"the file looks like {name} but byte {error.start} is not {name}") from None


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding found: a byte-order mark first, then UTF-8, then
    charset-normalizer's guess, preferring Windows-1252 (Excel's "CSV" in Western Europe) when it
    reads the bytes as well as the best guess does."""
    for bom, encoding, name in ((codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
                                (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
                                (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), name
            except UnicodeDecodeError as error:
                raise UnreadableFile(f"the file starts as {name} but byte {error.start} is not {name}") from None
    sample = data[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > 0.9 * len(sample[1::2]):
        return _strict(data, "utf-16-le", "UTF-16"), "UTF-16"
    if len(sample) >= 4 and sample[0::2].count(0) > 0.9 * len(sample[0::2]):
        return _strict(data, "utf-16-be", "UTF-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as error:
        # Valid UTF-8 sequences elsewhere mean a UTF-8 file with broken bytes: guessing another
        # encoding would turn every accent into mojibake, so the line is named instead.
        if UTF8_SEQUENCE.search(data):
            line = data[:error.start].count(b"\n") + 1
            raise UnreadableFile(f"line {line} has bytes that are not UTF-8 (byte {data[error.start]:#04x}) "
                                 "while the rest of the file is UTF-8; correct or remove them") from None
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise UnreadableFile("the file is not text cx can read (save it as 'CSV UTF-8' from the spreadsheet)")
    least_chaos = min(m.chaos for m in matches)
    for match in matches:
        if match.chaos == least_chaos and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace"), "Windows-1252"
    best = matches[0]
    return str(best), best.encoding


def detect_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of ',', ';', tab and '|'."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def column_key(name) -> str:
    """A column name as cx compares it: 'Start Date ' and 'start_date' are the same column."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s\-]+", "_", text)


def _rows_to_table(header: list[str], records, limits: Limits, filename: str, details: dict) -> Table:
    """Text records (row number, values) under a header as a Table; rows whose number of values
    differs from the header's are findings, not rows."""
    columns = [column_key(c) for c in header]
    seen, findings, rows, numbers = set(), [], [], []
    for column in columns:
        if column and column in seen:
            raise UnreadableFile(f"{Path(filename).name}: the column {column!r} appears twice in the header")
        seen.add(column)
    for number, values in records:
        if len(rows) + len(findings) >= limits.max_rows:
            raise _too_many_rows(filename, limits)
        if all(v == "" for v in values):
            continue
        if len(values) != len(columns):
            why = ("a value holding the delimiter needs quotes" if len(values) > len(columns)
                   else f"does it use another delimiter than the header's {details.get('delimiter', ',')!r}?"
                   if len(values) == 1 else "is the row cut short, or a quote left open?")
            findings.append(_finding(number, "", f"{len(values)} value{'s' * (len(values) != 1)}", "value_count",
                                     f"the row has {len(values)} value{'s' * (len(values) != 1)} and the header "
                                     f"{len(columns)} columns ({why})"))
            continue
        rows.append(values)
        numbers.append(number)
    if not rows and not findings:
        raise UnreadableFile(f"{Path(filename).name} has a header but no rows under it")
    frame = pd.DataFrame(rows, columns=columns, index=pd.Index(numbers, name="row"), dtype=object)
    frame = frame.loc[:, [c != "" for c in columns]]
    return Table(frame, details, findings)


def _read_csv(data: bytes, filename: str, limits: Limits) -> Table:
    text, encoding = decode(data)
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise UnreadableFile(f"{Path(filename).name}, line {line}: a NUL byte; the file is binary, not a CSV "
                             "(or text saved in an encoding cx cannot recognise)")
    delimiter = detect_delimiter(text)
    details = {"format": "CSV", "encoding": encoding, "delimiter": delimiter}
    # A field may be as long as the file (the default limit, 128 KiB, refused cx's own exports);
    # its length is then checked against the column's limit like any other value.
    csv.field_size_limit(max(limits.max_bytes, csv.field_size_limit()))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def records():
        while True:
            first_line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise UnreadableFile(f"{Path(filename).name}, line {reader.line_num}: {error}") from None
            yield first_line, [v.strip() for v in values]

    rows = records()
    header = next((values for _, values in rows if any(values)), None)
    if header is None:
        raise UnreadableFile(f"{Path(filename).name} is empty: it needs a header row and at least one row")
    return _rows_to_table(header, rows, limits, filename, details)


def as_text(value) -> str:
    """A typed cell (from Excel or Parquet) as the text a CSV would hold."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat() if value == pd.Timestamp(value).normalize() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, (list, tuple, np.ndarray)):
        return "; ".join(as_text(v) for v in value)
    return str(value).strip()


def sheet_names(data: bytes, filename: str, limits: Limits = Limits()) -> list[str]:
    """The sheets of an Excel workbook (the page offers them to choose from)."""
    workbook = _workbook(data, filename, limits)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


class _LongCell(Exception):
    pass


class _CellLengths(xml.sax.handler.ContentHandler):
    """Counts the characters of each shared string as the XML streams by, keeping none of them."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.length = limit, 0

    def startElement(self, name, attrs):
        if name == "si":
            self.length = 0

    def characters(self, content):
        self.length += len(content)
        if self.length > self.limit:
            raise _LongCell


def _check_workbook(data: bytes, filename: str, limits: Limits) -> None:
    """Refuse a workbook that unpacks to more than the limit, or holds a cell longer than any
    spreadsheet writes (Excel's 32,767 characters), from the zip's directory and a streaming pass
    over its shared strings: nothing is held whole before the file is known to fit."""
    name = Path(filename).name
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableFile(f"{name} is not an Excel workbook cx can open (it is not a zip archive)") from None
    with archive:
        entries = archive.infolist()
        unpacked = sum(entry.file_size for entry in entries)
        if unpacked > limits.max_unpacked_bytes:
            raise FileTooLarge(f"{name} unpacks to {unpacked / 1e6:,.0f} MB; the limit is "
                               f"{limits.max_unpacked_bytes / 1e6:,.0f} MB (split the workbook, or save it as CSV)")
        for entry in entries:
            if not entry.filename.lower().endswith("sharedstrings.xml") or entry.file_size <= EXCEL_CELL_LIMIT:
                continue
            parser = xml.sax.make_parser()
            parser.setContentHandler(_CellLengths(EXCEL_CELL_LIMIT))
            try:
                with archive.open(entry) as stream:
                    parser.parse(stream)
            except _LongCell:
                raise FileTooLarge(f"{name} holds a cell of more than {EXCEL_CELL_LIMIT:,} characters, more than "
                                   "a spreadsheet cell holds; it was not written by a spreadsheet, so cx does not "
                                   "read it") from None
            except (xml.sax.SAXException, zipfile.BadZipFile, OSError) as error:
                raise UnreadableFile(f"{name} is not an Excel workbook cx can open ({error})") from None


def _workbook(data: bytes, filename: str, limits: Limits = Limits()):
    import openpyxl

    _check_workbook(data, filename, limits)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and XML errors for damaged files
        raise UnreadableFile(f"{Path(filename).name} is not an Excel workbook cx can open ({error})") from None


def _read_excel(data: bytes, filename: str, sheet: str | None, limits: Limits) -> Table:
    workbook = _workbook(data, filename, limits)
    try:
        name = sheet or workbook.sheetnames[0]
        if name not in workbook.sheetnames:
            raise UnreadableFile(f"{Path(filename).name} has no sheet {name!r}; it has "
                                 + ", ".join(repr(s) for s in workbook.sheetnames))
        # The sheet's stated size, when it has one, refuses a too long sheet before a row is read.
        if (workbook[name].max_row or 0) > limits.max_rows + 1:
            raise _too_many_rows(filename, limits)
        rows = ((number, [as_text(v) for v in values])
                for number, values in enumerate(workbook[name].iter_rows(values_only=True), start=1))
        header = None
        for _, values in rows:
            if any(values):
                header = values
                break
        if header is None:
            raise UnreadableFile(f"the sheet {name!r} of {Path(filename).name} is empty")
        width = max((i + 1 for i, v in enumerate(header) if v), default=0)
        trimmed = ((n, v[:width] + [""] * (width - len(v)) if not any(v[width:]) else v) for n, v in rows)
        return _rows_to_table(header[:width], trimmed, limits, filename, {"format": "Excel", "sheet": name})
    finally:
        workbook.close()


def _read_parquet(data: bytes, filename: str, limits: Limits) -> Table:
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
    except (pa_arrow.ArrowException, OSError) as error:
        raise UnreadableFile(f"{Path(filename).name} is not a Parquet file cx can read ({error})") from None
    if parquet.metadata.num_rows > limits.max_rows:
        raise _too_many_rows(filename, limits)
    try:
        frame = parquet.read().to_pandas()
    except (pa_arrow.ArrowException, OSError, ValueError) as error:
        raise UnreadableFile(f"{Path(filename).name}: cannot read its rows ({error})") from None
    # Parquet has no header line: row 1 is the first record.
    records = ((number, [as_text(v) for v in values])
               for number, values in enumerate(frame.itertuples(index=False, name=None), start=1))
    return _rows_to_table([str(c) for c in frame.columns], records, limits, filename, {"format": "Parquet"})


def read_table(data: bytes, filename: str, *, sheet: str | None = None, limits: Limits = Limits()) -> Table:
    """A file's rows as text, or UnreadableFile / FileTooLarge with a sentence saying why."""
    _check_size(len(data), filename, limits)
    kind = file_format(filename)
    if kind == "Excel":
        return _read_excel(data, filename, sheet, limits)
    if kind == "Parquet":
        return _read_parquet(data, filename, limits)
    return _read_csv(data, filename, limits)


def read_path_bytes(path: Path | str, limits: Limits = Limits()) -> bytes:
    """A file's bytes, its size checked before a byte is read."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"there is no file {str(path)!r}")
    _check_size(path.stat().st_size, path.name, limits)
    return path.read_bytes()


def read_path(path: Path | str, *, sheet: str | None = None, limits: Limits = Limits()) -> Table:
    """`read_table` for a file on disk; its size is checked before a byte is read."""
    return read_table(read_path_bytes(path, limits), Path(path).name, sheet=sheet, limits=limits)


# --- parsing values ----------------------------------------------------------------------------

TRUE_WORDS = {"yes", "y", "true", "1", "x"}
FALSE_WORDS = {"no", "n", "false", "0"}


def _unneutralise(values: pd.Series) -> pd.Series:
    """Undo `cx.export.neutralise`: "'=A1" in an exported file was "=A1" in cx. Only the cells
    that start with a quote are looked at (most columns have none), found by Arrow in one pass."""
    starts = pc.starts_with(pa_arrow.array(values.to_numpy(dtype=object), pa_arrow.string(), from_pandas=True), "'")
    quoted = pd.Series(starts.fill_null(False).to_numpy(zero_copy_only=False), index=values.index)
    if not quoted.any():
        return values
    quoted[quoted] = values[quoted].str[1:].map(is_formula_like)
    return values.where(~quoted, values.str[1:])


def _parse_integer(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values.str.replace(r"[ _]", "", regex=True), errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round()) & (numbers.abs() < 2**31)
    return numbers.where(whole).astype("Int64")


def _parse_number(values: pd.Series) -> pd.Series:
    decimal_comma = values.str.fullmatch(r"-?\d+,\d+")
    numbers = pd.to_numeric(values.where(~decimal_comma, values.str.replace(",", ".")), errors="coerce")
    return numbers.where(np.isfinite(numbers)).astype("float64")


def _parse_date(values: pd.Series) -> pd.Series:
    """Dates as ISO, German, French or ISO with a midnight time; each form is tried only on the
    values no earlier one read (a file writes one form: most columns are read by the first)."""
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]")
    for pattern, fmt in ((r"\d{4}-\d{1,2}-\d{1,2}", "%Y-%m-%d"), (r"\d{1,2}\.\d{1,2}\.\d{4}", "%d.%m.%Y"),
                         (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"), (r"\d{4}-\d{1,2}-\d{1,2}[ T]00:00(:00)?", None)):
        pending = values[parsed.isna() & (values != "")]
        rows = pending.index[pending.str.fullmatch(pattern).fillna(False).astype(bool)]
        if len(rows):
            text = values[rows].str.slice(0, 10) if fmt is None else values[rows]
            parsed[rows] = pd.to_datetime(text, format=fmt or "%Y-%m-%d", errors="coerce")
    in_range = parsed.dt.year.between(FIRST_YEAR, LAST_YEAR)
    return parsed.where(in_range)


def _parse_boolean(values: pd.Series) -> pd.Series:
    words = values.str.casefold()
    return pd.Series(np.where(words.isin(TRUE_WORDS), True, np.where(words.isin(FALSE_WORDS), False, None)),
                     index=values.index, dtype="boolean")


def _split_list(values: pd.Series) -> pd.Series:
    return values.map(lambda v: [part.strip() for part in v.split(";") if part.strip()])


PARSERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "integer": _parse_integer, "number": _parse_number, "date": _parse_date, "boolean": _parse_boolean,
}
TYPE_RULES = {
    "integer": "is not a whole number (between -2,147,483,648 and 2,147,483,647)",
    "number": "is not a number",
    "date": f"is not a date like 2026-03-02 (or 02.03.2026) between {FIRST_YEAR} and {LAST_YEAR}",
    "boolean": "is not yes or no",
}


def ecosystem_key(name: str) -> str:
    """An ecosystem name folded so 'Energy - Renewables' finds 'Energy – Renewables'."""
    text = re.sub(r"[\u2010-\u2015-]", "-", unicodedata.normalize("NFKC", name)).casefold()
    return " ".join(text.replace("and", "&").split())


ECOSYSTEM_NAMES = {**{ecosystem_key(alias): name for alias, name in aliases("ecosystem").items()},
                   **{ecosystem_key(name): name for name in ECOSYSTEMS}}
KIND_NAMES = {**{alias.casefold(): kind for alias, kind in aliases("kind").items()},
              **{kind.casefold(): kind for kind in ORGANISATION_KINDS}}


def _kinds(values: pd.Series) -> pd.Series:
    """Organisation kinds under the names cx uses (another spelling or an alias: data/rules/aliases.csv)."""
    return values.map(lambda value: KIND_NAMES.get(" ".join(value.split()).casefold(), value))


def _renamed(frame: pd.DataFrame) -> dict[str, int]:
    """Kinds and ecosystems the file names otherwise than cx ('Renewable Energy' → 'Energy –
    Renewables'), with the rows that do: the import report tells, for information."""
    pairs = []
    if "kind" in frame:
        pairs += list(zip(frame["kind"], _kinds(frame["kind"])))
    if "ecosystems" in frame:
        pairs += [(part, ECOSYSTEM_NAMES[ecosystem_key(part)]) for parts in _split_list(frame["ecosystems"])
                  for part in parts if ecosystem_key(part) in ECOSYSTEM_NAMES]
    counts = pd.Series([f"{given!r} → {name!r}" for given, name in pairs if given and given != name], dtype=object)
    return counts.value_counts(sort=False).to_dict()


def _ecosystems(values: pd.Series) -> pd.Series:
    return _split_list(values).map(lambda parts: sorted({ECOSYSTEM_NAMES.get(ecosystem_key(p), p) for p in parts}))


def _unknown_ecosystems(parts: list[str]) -> list[str]:
    return [p for p in parts if ecosystem_key(p) not in ECOSYSTEM_NAMES]


# --- the schema --------------------------------------------------------------------------------

def _message(rule: str, column: str, value: str, rulebook: Rulebook) -> str:
    """The sentence for a schema check that failed on one value."""
    if rule == "required":
        return f"{column} needs a value"
    if rule in TYPE_RULES:
        return f"{column} {value!r} {TYPE_RULES[rule]}"
    if rule == "kind":
        return f"{value!r} is not an organisation kind; use one of: {', '.join(ORGANISATION_KINDS)}"
    if rule == "status":
        return f"{value!r} is not an exchange status; use one of: {', '.join(STATUSES)}"
    if rule == "unknown_country":
        return f"{value!r} is not a known ISO-2 country code (such as DE, PT, XK)"
    if rule == "ineligible_country":
        return f"{value.upper()} ({rulebook.country_name(value)}) does not take part in {rulebook.call_name}"
    if rule == "ecosystem":
        unknown = _unknown_ecosystems(_split_list(pd.Series([value])).iloc[0])
        hints = []
        for name in unknown:
            close = process.extractOne(name, list(ECOSYSTEMS), score_cutoff=60)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"not one of the 14 industrial ecosystems: {', '.join(hints)}"
    if rule == "latitude":
        return f"lat {value} is not between -90 and 90"
    if rule == "longitude":
        return f"lon {value} is not between -180 and 180"
    if rule == "not_negative":
        return f"{column} {value} is negative"
    if rule == "email":
        return f"{value!r} is not an e-mail address"
    if rule == "shown_to":
        return f"{value!r} is not a choice of which hosts read looking_for; use one of: {', '.join(SHOWN_TO)}"
    return f"{column} {value!r} breaks the rule {rule}"


def _check(function, rule: str) -> Check:
    """A column check that passes empty cells (the 'required' check reports those)."""
    return Check(lambda s: (s == "") | function(s), name=rule)


def _country_verdicts(codes: pd.Series, rulebook: Rulebook) -> pd.Series:
    """'eligible', 'ineligible_country' or 'unknown_country' for each code, as the rulebook says."""
    def verdict(code: str) -> str:
        try:
            rulebook.require_eligible(code)
        except IneligibleCountry:
            return "ineligible_country"
        except UnknownCountry:
            return "unknown_country"
        return "eligible"

    return codes.map({code: verdict(code) for code in codes.unique()})


def schema(kind: str, rulebook: Rulebook) -> pa.DataFrameSchema:
    """The pandera schema of one kind of file; every cell arrives as stripped text."""
    columns = {}
    for spec in FIELDS[kind]:
        checks = [Check(lambda s: s != "", name="required")] if spec.required else []
        if spec.type in PARSERS and not spec.computed:
            checks.append(_check(lambda s, parse=PARSERS[spec.type]: parse(s).notna(), spec.type))
        if spec.name == "id":
            checks.append(Check(lambda s: ~s.duplicated(keep="first") | (s == ""), name="duplicate_id"))
        if spec.name == "kind":
            checks.append(_check(lambda s: _kinds(s).isin(ORGANISATION_KINDS), "kind"))
        if spec.name == "status":
            checks.append(_check(lambda s: s.str.casefold().isin(STATUSES), "status"))
        if spec.name == "country":
            for rule in ("unknown_country", "ineligible_country"):
                checks.append(_check(lambda s, rule=rule: _country_verdicts(s, rulebook) != rule, rule))
        if spec.name == "ecosystems":
            checks.append(_check(lambda s: _split_list(s).map(lambda p: not _unknown_ecosystems(p)), "ecosystem"))
        if spec.name == "lat":
            checks.append(_check(lambda s: _parse_number(s).between(-90, 90) | _parse_number(s).isna(), "latitude"))
        if spec.name == "lon":
            checks.append(_check(lambda s: _parse_number(s).between(-180, 180) | _parse_number(s).isna(),
                                 "longitude"))
        if spec.name in ("target_exchanges", "lump_sum_eur", "allocation_eur"):
            checks.append(_check(lambda s: ~(_parse_integer(s) < 0).fillna(False), "not_negative"))
        if spec.name == "looking_for_shown_to":
            checks.append(_check(lambda s: s.isin([*SHOWN_TO, ""]), "shown_to"))
        if spec.name == "contact_email":
            checks.append(_check(lambda s: s.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "email"))
        columns[spec.name] = pa.Column(None, checks, required=spec.required, nullable=True)
    return pa.DataFrameSchema(columns, strict=False)


def _schema_findings(kind: str, frame: pd.DataFrame, rulebook: Rulebook) -> list[dict]:
    try:
        schema(kind, rulebook).validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    findings = []
    for case in cases.itertuples(index=False):
        if case.check == "column_in_dataframe":
            findings.append(_finding(None, case.failure_case, "", "missing_column",
                                     f"the file has no column {case.failure_case!r} (it has: "
                                     f"{', '.join(frame.columns) or 'no columns'})"))
            continue
        row = int(case.index)
        value = frame.at[row, case.column]
        message = _message(case.check, case.column, value, rulebook)
        if case.check == "duplicate_id":
            first = frame.index[frame[case.column] == value][0]
            message = f"the id {value!r} is already on row {first}"
        findings.append(_finding(row, case.column, value, case.check, message))
    return findings


# --- rows as the store holds them --------------------------------------------------------------

# Characters that reorder the text around them (U+202E shows "Lyon" as "noyL"): a name or a city
# holding one reads differently on screen from what is stored and matched.
PLAIN_COLUMNS = ("name", "city", "contact_name", "member_of")


def _without_bidi_controls(frame: pd.DataFrame) -> pd.DataFrame:
    """Names and cities with bidirectional control characters removed."""
    columns = [c for c in PLAIN_COLUMNS if c in frame.columns]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].str.replace(BIDI_CONTROLS, "", regex=True).str.strip()
    return frame


def _length_findings(frame: pd.DataFrame) -> list[dict]:
    """Text longer than its column holds (TEXT_LIMITS): refused whole, never cut."""
    findings = []
    for column in frame.columns:
        if column not in TEXT_LIMITS:
            continue
        long = frame[column].str.len() > TEXT_LIMITS[column]
        for row, value in frame.loc[long, column].items():
            findings.append(_finding(row, column, value[:40] + "…", "too_long", text_too_long(column, value)))
    return findings


def _typed(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The file's columns as the store's types (only rows that passed the schema arrive here)."""
    out = pd.DataFrame(index=frame.index)
    for spec in FIELDS[kind]:
        if spec.name not in frame or spec.computed:
            continue
        values = frame[spec.name]
        if spec.name == "ecosystems":
            out[spec.name] = _ecosystems(values)
        elif spec.type == "list":
            out[spec.name] = _split_list(values)
        elif spec.type in PARSERS:
            out[spec.name] = PARSERS[spec.type](values)
        elif spec.name == "country":
            out[spec.name] = values.str.upper()
        elif spec.name == "status":
            out[spec.name] = values.str.casefold().replace("", "requested")
        elif spec.name == "kind":
            out[spec.name] = _kinds(values)
        else:
            out[spec.name] = values.where(values != "", None).astype(object)
    return out


# The column a participant rule's finding names.
PARTICIPANT_COLUMNS = {"host_only": "can_visit", "no_role": "can_host", "not_a_member": "member_of"}


def _participant_findings(typed: pd.DataFrame, present: list[str], store: Store, rulebook: Rulebook) -> list[dict]:
    """`Rulebook.check_participant` on each row, as a registration is checked: each organisation
    visits, hosts or both, kinds that only host do not visit and, when the file has a member_of
    column, the kinds that take part only as cluster members name their cluster (an older file
    without the column says nothing about membership, so nothing is checked or changed there).
    An organisation cx holds without a cluster, which the file leaves without one, is flagged
    (kept, to be completed: its export imports back), not rejected. Only rows that could break a
    rule are checked: a file of 100,000 clusters costs nothing."""
    checked = "member_of" in present
    member_of = typed["member_of"] if checked else pd.Series("", index=typed.index, dtype=object)
    missing = member_of.fillna("").astype(str).str.strip().eq("")
    suspect = ((typed["kind"].isin(rulebook.member_kinds) & missing & checked)
               | (typed["kind"].isin(rulebook.host_only_kinds) & typed["can_visit"])
               | ~(typed["can_visit"] | typed["can_host"]))
    stored = store.query("SELECT id, member_of FROM organisations WHERE id = ANY(?) AND coalesce(member_of, '') = ''",
                         [typed.loc[suspect, "id"].tolist()])["id"]
    findings = []
    for row in typed.index[suspect]:
        for breach in rulebook.check_participant(typed.at[row, "kind"], typed.at[row, "country"],
                                                 member_of[row] if checked else "(not in the file)",
                                                 bool(typed.at[row, "can_visit"]), bool(typed.at[row, "can_host"])):
            column = PARTICIPANT_COLUMNS.get(breach.rule)  # the country's rules are the schema's findings
            if column:
                value = {"can_visit": "yes", "can_host": "no", "member_of": ""}[column]
                kept = column == "member_of" and typed.at[row, "id"] in set(stored)
                findings.append(_finding(row, column, value, breach.rule, breach.message + (
                    " (kept as cx holds it: complete member_of)" if kept else ""),
                    outcome="flagged" if kept else "rejected"))
    return findings


def _organisation_rows(typed: pd.DataFrame, present: list[str], places: Gazetteer, store: Store,
                       rulebook: Rulebook) -> tuple[pd.DataFrame, list[dict]]:
    """Place each organisation (the file's lat/lon, else the gazetteer, else the coordinates cx
    already holds for the same city), check its partnership and whether it may take part as it
    says (`_participant_findings`)."""
    typed = typed.copy()
    if "can_visit" not in present:
        typed["can_visit"] = ~typed["kind"].isin(rulebook.host_only_kinds)
    if "can_host" not in present:
        typed["can_host"] = True
    typed["can_host"] = typed["can_host"].fillna(True).astype(bool)
    typed["can_visit"] = typed["can_visit"].fillna(~typed["kind"].isin(rulebook.host_only_kinds)).astype(bool)
    findings = _participant_findings(typed, present, store, rulebook)
    for column in ("lat", "lon"):
        if column not in typed:
            typed[column] = np.nan
    given = typed["lat"].notna() & typed["lon"].notna()
    half = typed["lat"].notna() ^ typed["lon"].notna()
    for row in typed.index[half]:
        findings.append(_finding(row, "lat" if pd.isna(typed.at[row, "lat"]) else "lon", "",
                                 "half_coordinates", "give both lat and lon, or neither"))
    lat, lon = places.locate_many(typed["city"], typed["country"])
    stored = store.query("SELECT id, city, country, lat, lon FROM organisations WHERE id IN (SELECT unnest(?))",
                         [typed["id"].tolist()]).set_index("id").reindex(typed["id"]).set_axis(typed.index)
    same_place = (stored["city"] == typed["city"]) & (stored["country"] == typed["country"]) & stored["lat"].notna()
    unplaced = np.isnan(lat) & same_place.to_numpy(dtype=bool)
    lat[unplaced], lon[unplaced] = stored["lat"].to_numpy()[unplaced], stored["lon"].to_numpy()[unplaced]
    typed["lat"] = np.where(given, typed["lat"], lat)
    typed["lon"] = np.where(given, typed["lon"], lon)
    for row in typed.index[~given & ~half & np.isnan(lat)]:
        city, country = typed.at[row, "city"], typed.at[row, "country"]
        findings.append(_finding(row, "city", city, "unknown_city",
                                 str(UnknownCity(city, country, places.suggest(city, country)))))
    if "partnership_id" in typed:
        partnerships = store.query("SELECT id FROM partnerships")["id"]
        missing = typed["partnership_id"].notna() & ~typed["partnership_id"].isin(partnerships)
        for row in typed.index[missing]:
            value = typed.at[row, "partnership_id"]
            findings.append(_finding(row, "partnership_id", value, "missing_partnership",
                                     f"there is no partnership {value!r} in cx (import the partnerships first)"))
    return typed, findings


def _mission_rows(typed: pd.DataFrame, store: Store) -> tuple[pd.DataFrame, list[dict]]:
    """Check each mission's partnership and days."""
    findings = []
    partnerships = store.query("SELECT id FROM partnerships")["id"]
    for row in typed.index[~typed["partnership_id"].isin(partnerships)]:
        value = typed.at[row, "partnership_id"]
        findings.append(_finding(row, "partnership_id", value, "missing_partnership",
                                 f"there is no partnership {value!r} in cx (import the partnerships first)"))
    for row in typed.index[typed["end_date"] < typed["start_date"]]:
        findings.append(_finding(row, "end_date", typed.at[row, "end_date"].date(), "end_before_start",
                                 f"the mission ends on {typed.at[row, 'end_date']:%Y-%m-%d}, before it starts on "
                                 f"{typed.at[row, 'start_date']:%Y-%m-%d}"))
    return typed, findings


CHECK_COLUMNS = {"same_country": "host_id", "missing_dates": "start_date", "end_before_start": "end_date",
                 "too_short": "end_date", "too_long": "end_date", "visited_already": "visitor_id"}


def _request_findings(typed: pd.DataFrame, after: pd.Series, before: pd.Series, hosts: pd.Series, store: Store,
                      today: dt.date, refused: set) -> list[dict]:
    """A request's own rules (cx.exchanges), row by row: a new request whose stay has started is
    refused, and so is a row that repeats a stored exchange or an earlier row of the file that is
    not `refused` already. `after` is each row's status after the import, `before` the stored
    status by id, `hosts` names by id."""
    findings, refused = [], set(refused)
    new_requests = ~typed["id"].isin(before.index) & after.eq("requested") & typed["start_date"].notna()
    for row in typed.index[new_requests]:
        for breach in started_already(typed.at[row, "start_date"], today):
            findings.append(_finding(row, "start_date", typed.at[row, "start_date"].date(), breach.rule, breach.message))
            refused.add(row)
    stays = typed[STAY_COLUMNS[:-1]].assign(status=after)
    stored = store.query("SELECT id, visitor_id, host_id, start_date, end_date, status FROM exchanges "
                         "WHERE visitor_id = ANY(?)", [typed["visitor_id"].dropna().unique().tolist()])
    stored = stored[~stored["id"].isin(typed["id"])].reset_index(drop=True)  # the file's version replaces it
    of_stored = repeats(stays, stored)
    in_file = repeats(stays, stays)
    in_file = in_file[in_file["other"] < in_file["stay"]]
    for row in sorted((set(of_stored["stay"]) | set(in_file["stay"])) - refused):  # in file order: a refused row repeats nothing
        earlier = in_file.loc[(in_file["stay"] == row) & ~in_file["other"].isin(refused), "other"]
        if (of_stored["stay"] == row).any():
            other, where = stored.loc[of_stored.loc[of_stored["stay"] == row, "other"]].sort_values("start_date").iloc[0], ""
        elif len(earlier):
            other = stays.loc[earlier].sort_values("start_date").iloc[0]
            where = f", row {other.name} of this file,"
        else:
            continue
        breach = repeat_breach(hosts.get(typed.at[row, "host_id"]), other, where)
        findings.append(_finding(row, "start_date", typed.at[row, "start_date"].date(), breach.rule, breach.message))
        refused.add(row)
    return findings


def _exchange_rows(typed: pd.DataFrame, present: list[str], store: Store, rulebook: Rulebook, today: dt.date,
                   override: CeilingOverride | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Join each exchange to its visitor and host, check the call's rules and a request's (`today`
    decides which stays have started), and compute working days, distance and lump sum.

    A lump sum above the host country's ceiling is refused, unless it is the one cx holds already
    (an earlier override, exported and imported back) or an officer's `override` keeps it: then
    it is flagged, and `ceiling_eur` says which rows the audit trail records."""
    findings = []
    typed = typed.copy()
    if "status" not in present:
        typed["status"] = "requested"
    # The visitors whose visits the checks count, now and before this file: held until the write
    # commits, so another process's approval cannot slip in between (a no-op on DuckDB, whose
    # write lock holds the whole transaction).
    store.lock_visitors(set(typed["visitor_id"].dropna()) | set(store.query(
        "SELECT visitor_id FROM exchanges WHERE id = ANY(?)", [typed["id"].dropna().tolist()])["visitor_id"]))
    ids = sorted(set(typed["visitor_id"].dropna()) | set(typed["host_id"].dropna()))
    orgs = store.query("SELECT id, name, country, lat, lon, can_host, can_visit FROM organisations "
                       "WHERE id IN (SELECT unnest(?))", [ids]).set_index("id")
    for role in ("visitor", "host"):
        column = f"{role}_id"
        missing = ~typed[column].isin(orgs.index)
        for row in typed.index[missing]:
            findings.append(_finding(row, column, typed.at[row, column], "missing_organisation",
                                     f"there is no organisation {typed.at[row, column]!r} in cx "
                                     "(import the organisations first)"))
        ability = {"visitor": "visit", "host": "host"}[role]
        unable = ~missing & ~typed[column].map(orgs[f"can_{ability}"]).fillna(True).astype(bool)
        for row in typed.index[unable]:
            findings.append(_finding(row, column, typed.at[row, column], f"may_not_{ability}",
                                     f"organisation {typed.at[row, column]!r} is registered as one that may not "
                                     f"{ability}"))
    if "mission_id" in present:
        missions = set(store.query("SELECT id FROM missions")["id"])
        for row in typed.index[typed["mission_id"].notna() & ~typed["mission_id"].isin(missions)]:
            findings.append(_finding(row, "mission_id", typed.at[row, "mission_id"], "missing_mission",
                                     f"there is no group mission {typed.at[row, 'mission_id']!r} in cx "
                                     "(import the missions first)"))
    # An import may carry an exchange forward through several steps at once (the IT tool saw them),
    # never back: an older file must not undo what happened since.
    before = store.query("SELECT id, status FROM exchanges WHERE id IN (SELECT unnest(?))",
                         [typed["id"].tolist()]).set_index("id")["status"]
    # The status each exchange has after the import: a row that would move it back is refused,
    # so the stored status stays (and still takes the visitor's visit, if it does).
    after = typed["status"].copy()
    stored_status = typed["id"].map(before)
    moved = stored_status.notna() & (typed["status"] != stored_status)  # only those can move back
    for row, exchange_id, status, old in zip(typed.index[moved], typed["id"][moved], typed["status"][moved],
                                             stored_status[moved]):
        if status not in reachable(old):
            after[row] = old
            findings.append(_finding(row, "status", status, "status_backwards",
                                     f"exchange {exchange_id} is {old} in cx; an import moves an exchange only "
                                     f"forward ({', '.join(s for s in ORDER if s in reachable(old)) or 'it is final'})"
                                     f", not to {status}"))
    # An exchange under way in cx (its host answered there) is approved only once every party has
    # signed there, and becomes reported or paid only by its own steps (the report, the payment):
    # a file cannot give those. Exchanges cx only holds as history move on as the file says.
    signed = store.query("""SELECT a.exchange_id, count(s.party) AS signatures FROM host_answers a
                            LEFT JOIN signatures s ON s.exchange_id = a.exchange_id
                            WHERE a.exchange_id = ANY(?) GROUP BY a.exchange_id""",
                         [typed["id"].tolist()]).set_index("exchange_id")["signatures"]
    needed = sum(map(len, DOCUMENTS.values()))
    under_way = typed["id"].isin(signed.index)  # the few rows this concerns, not every row of the file
    for row, exchange_id, status in zip(typed.index[under_way], typed["id"][under_way], typed["status"][under_way]):
        old = before.get(exchange_id)
        if after[row] == old:
            continue
        if after[row] in STEPS_OF_THEIR_OWN:
            why = STEPS_OF_THEIR_OWN[after[row]].format(id=exchange_id)
        elif old == "requested" and signed[exchange_id] < needed:
            why = (f"exchange {exchange_id} is being agreed in cx and lacks {needed - signed[exchange_id]} of its "
                   f"{needed} signatures; it is approved once every party has signed")
        else:
            continue
        after[row] = old
        findings.append(_finding(row, "status", status, "steps_in_cx", f"{why} (not by an import)"))
    known = typed["visitor_id"].isin(orgs.index) & typed["host_id"].isin(orgs.index)
    visitor = orgs.reindex(typed["visitor_id"]).set_axis(typed.index)
    host = orgs.reindex(typed["host_id"]).set_axis(typed.index)
    # A visit is taken by the visitor's other exchanges in a taken status, in cx or in this file.
    taken_statuses = list(rulebook.taken_statuses)
    stored = store.query("SELECT id, visitor_id FROM exchanges WHERE status = ANY(?) "
                         "AND visitor_id IN (SELECT unnest(?))", [taken_statuses, ids])
    stored = stored[~stored["id"].isin(typed["id"])]
    in_file = typed[after.isin(taken_statuses)]
    taken = (stored["visitor_id"].value_counts().add(in_file["visitor_id"].value_counts(), fill_value=0))
    visits_taken = typed["visitor_id"].map(taken).fillna(0) - after.isin(taken_statuses)
    # A rejected or cancelled request takes nothing and breaks nothing by having been made.
    visits_taken = visits_taken.where(~typed["status"].isin(["rejected", "cancelled"]), 0)
    checks = rulebook.check_exchanges(pd.DataFrame({
        "visitor_country": visitor["country"], "host_country": host["country"],
        "start": typed["start_date"], "end": typed["end_date"], "visits_taken": visits_taken,
    })[known])
    values = {"host_id": typed["host_id"], "visitor_id": typed["visitor_id"],
              "start_date": typed["start_date"].dt.date.astype(str), "end_date": typed["end_date"].dt.date.astype(str)}
    for row, rule, message in checks[["row", "rule", "message"]].itertuples(index=False):
        column = CHECK_COLUMNS.get(rule) or ("visitor_id" if message.startswith("the visitor") else "host_id")
        findings.append(_finding(row, column, values[column][row], rule, message))
    typed["distance_km"] = distance_km(visitor["lat"], visitor["lon"], host["lat"], host["lon"])
    money = rulebook.lump_sums(pd.DataFrame({"host_country": host["country"], "start": typed["start_date"],
                                             "end": typed["end_date"], "distance_km": typed["distance_km"]}))
    typed["working_days"] = money["working_days"].astype("int64")
    typed["halved"] = money["halved"].astype(bool)
    computed = money["lump_sum_eur"].astype("Int64")
    given = typed["lump_sum_eur"] if "lump_sum_eur" in typed else pd.Series(pd.NA, index=typed.index, dtype="Int64")
    ceiling = pd.Series(rulebook.ceilings(host["country"].fillna("").to_numpy()), index=typed.index)
    held = store.query("SELECT id, lump_sum_eur FROM exchanges WHERE id = ANY(?)",
                       [typed["id"].tolist()]).set_index("id")["lump_sum_eur"]
    above = (known & given.notna() & (ceiling > 0) & (given > ceiling)).fillna(False).astype(bool)
    kept = above & typed["id"].map(held).astype("Int64").eq(given).fillna(False).astype(bool)
    typed["ceiling_note"] = None  # what the audit trail says of a lump sum kept above the ceiling
    for row in typed.index[above]:
        said = (f"the file says {euros(given[row])}, above the ceiling for {host.at[row, 'country']} "
                f"({euros(ceiling[row])})")
        if kept[row]:
            findings.append(_finding(row, "lump_sum_eur", given[row], "above_ceiling",
                                     f"{said}; cx holds that amount already (kept by an officer)", "flagged"))
        elif override:
            typed.at[row, "ceiling_note"] = override.note(int(given[row]), host.at[row, "country"], int(ceiling[row]))
            findings.append(_finding(row, "lump_sum_eur", given[row], "above_ceiling",
                                     f"{said}; kept by {override.officer}: {override.reason}", "flagged"))
        else:
            findings.append(_finding(row, "lump_sum_eur", given[row], "above_ceiling",
                                     f"{said}; a lump sum may not exceed it (an officer may keep it, giving the reason)"))
    differs = (known & given.notna() & (given != computed) & ~above).fillna(False).astype(bool)
    reasons = rulebook.halving_reasons(money[differs], typed["distance_km"][differs])  # only the rows it explains
    for row in typed.index[differs]:
        why = f", halved because {reasons[row]}" if reasons[row] else ""
        findings.append(_finding(row, "lump_sum_eur", given[row], "lump_sum_differs",
                                 f"the file says {euros(given[row])}; the rulebook gives "
                                 f"{euros(computed[row])} ({int(money.at[row, 'working_days'])} working days in "
                                 f"{host.at[row, 'country']}{why}); the file's amount is kept", "flagged"))
    findings += _request_findings(typed, after, before, orgs["name"], store, today,
                                  {f["row"] for f in findings if f["outcome"] == "rejected"})
    # A lump sum is frozen at approval: an exchange stored as approved or later keeps its amount
    # (and halving) unless the file gives one.
    frozen = store.query("SELECT id, lump_sum_eur, halved FROM exchanges WHERE id IN (SELECT unnest(?)) "
                         "AND status = ANY(?)", [typed["id"].tolist(), taken_statuses]).set_index("id")
    keep = given.isna() & typed["id"].isin(frozen.index)
    given = given.where(~keep, typed["id"].map(frozen["lump_sum_eur"]).astype("Int64"))
    typed["halved"] = typed["halved"].where(~keep, typed["id"].map(frozen["halved"]).astype(bool))
    typed["lump_sum_eur"] = given.fillna(computed)
    return typed, findings


# --- comparing with what is stored -------------------------------------------------------------

def _comparable(values: pd.Series, kind: str) -> pd.Series:
    """A column of the field type `kind` in a form that compares equal whether it came from the file
    or from DuckDB: lists as joined text, dates as days, numbers rounded, everything missing as NA."""
    if kind == "list":
        return values.map(lambda v: "\x1f".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else None,
                          na_action="ignore").astype("string")
    if kind == "date":
        return pd.to_datetime(values, errors="coerce").dt.normalize()
    if kind in ("integer", "number"):
        return pd.to_numeric(values, errors="coerce").astype("Float64").round(6)
    if kind == "boolean":
        return values.astype("boolean")
    return values.astype("string")


def _changes(kind: str, rows: pd.DataFrame, stored: pd.DataFrame, columns: list[str]) -> pd.Series:
    """For each row, 'added', 'updated' or 'unchanged' against the stored row of the same id: one
    merge on id and one comparison per column, not a comparison per cell."""
    types = {f.name: f.type for f in FIELDS[kind]}
    old = rows[["id"]].merge(stored, on="id", how="left", indicator=True)
    same = np.ones(len(rows), dtype=bool)
    for column in columns:
        if column == "id":
            continue
        new_values = _comparable(rows[column].reset_index(drop=True), types[column])
        old_values = _comparable(old[column], types[column])
        equal = new_values.eq(old_values).fillna(False).to_numpy(dtype=bool)
        same &= equal | (new_values.isna() & old_values.isna()).to_numpy()
    added = (old["_merge"] == "left_only").to_numpy()
    return pd.Series(np.where(added, "added", np.where(same, "unchanged", "updated")), index=rows.index, dtype=object)


def _upsert(con, table: str, rows: pd.DataFrame, columns: list[str]) -> None:
    """Insert new ids and update the given columns of existing ones (other columns keep their value)."""
    frame = rows[columns].reset_index(drop=True)
    insert_frame(con, table, frame, update=[c for c in columns if c != "id"],
                 stamp="updated_at" if table == "exchanges" else None)


# --- the import --------------------------------------------------------------------------------

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class CeilingOverride:
    """An officer keeping an import's lump sums above their host country's ceiling, and why."""

    officer: str
    reason: str

    @staticmethod
    def allowed(viewer: Viewer) -> bool:
        """Only an officer answers for a lump sum above the ceiling."""
        return viewer.is_officer

    @classmethod
    def given(cls, viewer: Viewer, reason: str) -> CeilingOverride:
        """The override when `viewer` may give it with a reason that fits; else a sentence saying
        what is missing."""
        viewer.require(cls.allowed(viewer), "keep a lump sum above the host country's ceiling")
        reason = " ".join(str(reason or "").split())
        if not reason:
            raise CxError("keeping a lump sum above the ceiling needs a reason; write why")
        if text_too_long("reason", reason):
            raise CxError(text_too_long("reason", reason))
        return cls(viewer.identity, reason)

    def note(self, lump_sum_eur: int, country: str, ceiling_eur: int) -> str:
        return f"{euros(lump_sum_eur)} kept above the ceiling for {country} ({euros(ceiling_eur)}): {self.reason}"


@scoped
def import_table(store: Store, viewer: Viewer, kind: str, table: Table, *, file: str, mode: str = "all",
                 dry_run: bool = False, rulebook: Rulebook | None = None, places: Gazetteer | None = None,
                 progress: Progress | None = None, today: dt.date | None = None,
                 override_ceiling: str | None = None) -> ImportReport:
    """Check a read file's rows and upsert them in one transaction (none if `dry_run`, or if
    `mode` is 'all' and any row is rejected). Status changes of exchanges go to the audit trail,
    recorded as changed by the viewer.

    Officers import anything; a partnership manager imports organisations and exchanges of their
    partnership(s) only (any other row is rejected with its row number); nobody else imports.

    Rows are checked inside the transaction that writes them (under the database's write lock),
    so an approval in another session or process cannot slip between the visit-once check and
    the write. A dry run only reads.

    `override_ceiling`, a reason, lets an officer keep lump sums above their host country's
    ceiling (`CeilingOverride`): each one written is recorded in the exchange's audit trail."""
    if kind not in KINDS:
        raise ValueError(f"cx imports {', '.join(KINDS)}, not {kind!r}")
    if mode not in MODES:
        raise ValueError(f"the mode is 'all' or 'valid', not {mode!r}")
    viewer.require(viewer.is_officer or (viewer.role == MANAGER and kind != "partnerships"), f"import {kind}")
    if override_ceiling is not None and kind != "exchanges":
        raise CxError(f"only exchanges have lump sums; {kind} take no override of the ceiling")
    override = None if override_ceiling is None else CeilingOverride.given(viewer, override_ceiling)
    by = f"{viewer.identity} (import of {file})"
    with store.reading() if dry_run else store.transaction():
        return _import_table(store, viewer, kind, table, file, mode, dry_run, by, rulebook or load_rulebook(),
                             places, progress or (lambda fraction, text: None), today or dt.date.today(), override)


def _outside_scope(kind: str, rows: pd.DataFrame, store: Store, viewer: Viewer) -> list[dict]:
    """Rows a partnership manager may not write: an organisation of another partnership (in the
    file or already in cx under the same id), likewise a mission, an exchange whose visitor is not theirs."""
    if viewer.is_officer or kind not in ("organisations", "missions", "exchanges"):
        return []
    column, ids = ("visitor_id", rows["visitor_id"]) if kind == "exchanges" else ("partnership_id", rows["id"])
    table = "missions" if kind == "missions" else "organisations"
    stored = store.query(f"SELECT id, partnership_id FROM {table} WHERE id = ANY(?)",
                         [ids.dropna().astype(str).tolist()]).set_index("id")["partnership_id"]
    findings = []
    for row, record in rows.iterrows():
        if kind != "exchanges":
            owners = {record.get("partnership_id"), stored.get(record["id"], record.get("partnership_id"))}
        else:
            owners = {stored.get(record["visitor_id"])}
        if not owners <= set(viewer.partnerships):
            findings.append(_finding(row, column, record[column], "not_your_partnership",
                                     f"{viewer.identity} imports for {', '.join(viewer.partnerships)} only; "
                                     + (f"this {kind[:-1]} belongs to another partnership" if kind != "exchanges"
                                        else "the visitor of this exchange belongs to another partnership")))
    return findings


def _import_table(store, viewer, kind, table, file, mode, dry_run, by, rulebook, places, progress, today,
                  override) -> ImportReport:
    frame = table.frame.apply(_unneutralise) if len(table.frame.columns) else table.frame
    frame = _without_bidi_controls(frame)
    known = [f.name for f in FIELDS[kind]]
    report = ImportReport(kind, file, mode, dry_run, rows=len(frame) + len(table.findings),
                          details={**table.details,
                                   "ignored_columns": [c for c in frame.columns if c not in known]})
    progress(0.1, f"Checking {report.rows:,} rows")
    findings = list(table.findings) + _length_findings(frame) + _schema_findings(kind, frame, rulebook)
    missing_column = any(f["rule"] == "missing_column" for f in findings)
    present = [f.name for f in FIELDS[kind] if f.name in frame.columns and not f.computed]
    bad = {f["row"] for f in findings}
    rows = pd.DataFrame() if missing_column else _typed(kind, frame.loc[~frame.index.isin(bad)])
    report.details["renamed"] = _renamed(frame.loc[~frame.index.isin(bad)])
    if len(rows):
        progress(0.3, "Checking places, references and rules")
        if kind == "organisations":
            rows, more = _organisation_rows(rows, present, places or gazetteer(), store, rulebook)
            present = present + [c for c in ("lat", "lon", "can_host", "can_visit") if c not in present]
        elif kind == "missions":
            rows, more = _mission_rows(rows, store)
        elif kind == "exchanges":
            rows, more = _exchange_rows(rows, present, store, rulebook, today, override)
            present = present + [c for c in ("status", "lump_sum_eur", "working_days", "distance_km", "halved")
                                 if c not in present]
        else:
            more = []
        findings += more + _outside_scope(kind, rows, store, viewer)
    report.findings = (pd.DataFrame(findings, columns=FINDING_COLUMNS).astype({"row": "Int64"})
                       .sort_values(["row", "column"], kind="stable", na_position="first", ignore_index=True))
    rejected_rows = set(report.findings.loc[report.findings["outcome"] == "rejected", "row"].dropna())
    if missing_column:
        rejected_rows |= set(frame.index)
    report.rejected = len(rejected_rows)
    report.flagged = int(report.findings.loc[report.findings["outcome"] == "flagged", "row"].nunique())
    rows = rows.loc[~rows.index.isin(rejected_rows)] if len(rows) else rows
    if not len(rows):
        return report
    # Only the compared columns (and status, for the audit trail), found by a hash join on id: a
    # list_contains(?, id) filter compares every stored row with every id of the file.
    wanted = ", ".join(f'"{c}"' for c in dict.fromkeys(["id", *present, *(["status"] if kind == "exchanges" else [])]))
    source = ORGANISATION_RECORDS if kind == "organisations" else f'"{kind}"'  # contacts from their view
    stored = store.query(f'SELECT {wanted} FROM {source} o WHERE id IN (SELECT unnest(?))', [rows["id"].tolist()])
    outcome = _changes(kind, rows, stored, present)
    report.added = int((outcome == "added").sum())
    report.updated = int((outcome == "updated").sum())
    report.unchanged = int((outcome == "unchanged").sum())
    if dry_run or (mode == "all" and report.rejected) or not (report.added or report.updated):
        return report
    changed = rows[outcome != "unchanged"]
    progress(0.6, f"Writing {len(changed):,} {kind}")
    with store.transaction() as con:
        if kind == "missions":  # who created it: the person importing it
            changed, present = changed.assign(created_by=by), [*present, "created_by"]
        _upsert(con, kind, changed, present)
        progress(0.8, f"Wrote {len(changed):,} {kind}; recording status changes")
        if kind == "exchanges":
            before = stored.set_index("id")["status"] if len(stored) else pd.Series(dtype=object)
            events = pd.DataFrame({"exchange_id": changed["id"].to_numpy(),
                                   "from_status": changed["id"].map(before).to_numpy(),
                                   "to_status": changed["status"].to_numpy(), "changed_by": by})
            events = events[events["from_status"].astype(object).ne(events["to_status"])
                            | events["from_status"].isna()]
            if override:
                events = pd.concat([events, _override_events(changed, by)], ignore_index=True)
            if len(events):
                insert_frame(con, "exchange_events", events.astype(object).where(events.notna(), None))
            # A stored exchange the file moves tells its people, as a move in cx does; a new one
            # tells nobody: loading the IT tool's history would write to every past exchange.
            moved = events[events["from_status"].notna() & events["from_status"].ne(events["to_status"])]
            tell_moves(con, by, moved[["exchange_id", "from_status", "to_status"]].itertuples(index=False))
    report.written = True
    progress(1.0, report.summary())
    return report


def _override_events(changed: pd.DataFrame, by: str) -> pd.DataFrame:
    """One audit event per written exchange whose lump sum the officer kept above the ceiling."""
    kept = changed[changed["ceiling_note"].notna()]
    return pd.DataFrame({"exchange_id": kept["id"].to_numpy(), "from_status": kept["status"].to_numpy(),
                         "to_status": kept["status"].to_numpy(), "changed_by": by,
                         "action": "lump sum kept above the ceiling", "note": kept["ceiling_note"].to_numpy()})


@scoped
def import_file(store: Store, viewer: Viewer, kind: str, data: bytes, filename: str, *, sheet: str | None = None,
                mode: str = "all", dry_run: bool = False, limits: Limits = Limits(), **options) -> ImportReport:
    """Read and import a file's bytes (`import_table`); UnreadableFile / FileTooLarge for a file
    cx cannot take at all."""
    table = read_table(data, filename, sheet=sheet, limits=limits)
    return import_table(store, viewer, kind, table, file=Path(filename).name, mode=mode, dry_run=dry_run, **options)


@scoped
def import_path(store: Store, viewer: Viewer, kind: str, path: Path | str, *, sheet: str | None = None,
                mode: str = "all", dry_run: bool = False, limits: Limits = Limits(), **options) -> ImportReport:
    """`import_file` for a file on disk, its size checked before it is read."""
    table = read_path(path, sheet=sheet, limits=limits)
    return import_table(store, viewer, kind, table, file=Path(path).name, mode=mode, dry_run=dry_run, **options)


# --- export ------------------------------------------------------------------------------------

@scoped
def exchange_ids(store: Store, viewer: Viewer, *, statuses=None, partnership_id: str | None = None,
                 visitor_country=None, host_country=None, start=None, end=None) -> list[str]:
    """The ids of the exchanges in a filtered view of those the viewer may see: statuses, the
    visitor's partnership, countries, and stays that overlap the period from `start` to `end`."""
    frame = store.exchanges(viewer)
    keep = pd.Series(True, index=frame.index)
    if statuses:
        keep &= frame["status"].isin(list(statuses))
    if partnership_id:
        keep &= frame["partnership_id"] == partnership_id
    if visitor_country:
        keep &= frame["visitor_country"].isin([visitor_country] if isinstance(visitor_country, str) else visitor_country)
    if host_country:
        keep &= frame["host_country"].isin([host_country] if isinstance(host_country, str) else host_country)
    if start:
        keep &= frame["end_date"] >= pd.Timestamp(start)
    if end:
        keep &= frame["start_date"] <= pd.Timestamp(end)
    return frame.loc[keep, "id"].tolist()


@scoped
def export_frame(store: Store, viewer: Viewer, kind: str, *, with_contacts: bool = False,
                 ids: list[str] | None = None) -> pd.DataFrame:
    """The rows of a table the viewer may see, in the import file's columns (so an export imports
    back unchanged), lists joined with '; '; contact details only when asked for and the viewer
    may read them (NotAllowed otherwise); only the given ids when `ids` is set."""
    viewer.require(not with_contacts or viewer.reads_rows, "export contact names or e-mails")
    columns = [f.name for f in FIELDS[kind] if with_contacts or f.name not in CONTACT_COLUMNS]
    frame = {"partnerships": lambda: partnerships_with_allocations(store, viewer), "organisations": lambda: store.organisations(viewer),
             "missions": lambda: mission_rows(store, viewer), "exchanges": lambda: store.exchanges(viewer)}[kind]()
    if ids is not None:
        frame = frame[frame["id"].isin(ids)]
    frame = frame[columns].sort_values("id", ignore_index=True)
    for spec in FIELDS[kind]:
        if spec.name not in frame:
            continue
        if spec.type == "list":
            frame[spec.name] = frame[spec.name].map(lambda v: "; ".join(v) if v is not None and len(v) else "")
        elif spec.type == "date":
            frame[spec.name] = pd.to_datetime(frame[spec.name]).dt.date
    return frame


def export_bytes(frames: dict[str, pd.DataFrame], file_format: str,
                 attachments: dict[str, bytes] | None = None) -> tuple[str, bytes]:
    """The tables as one download: (file name, bytes). CSV and Parquet hold one table per file,
    so several tables come as a zip, with `attachments` (name: bytes) beside them; Excel holds one
    sheet per table. CSV and Excel cells are neutralised against formula injection."""
    import zipfile

    from cx.export import to_csv_bytes, to_excel_bytes

    name = export_name(list(frames), file_format)
    if file_format == "xlsx":
        return name, to_excel_bytes(frames)
    writer = to_csv_bytes if file_format == "csv" else to_parquet_bytes
    if len(frames) == 1:
        return name, writer(next(iter(frames.values())))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table, frame in frames.items():
            archive.writestr(f"{table}.{file_format}", writer(frame))
        for member, data in (attachments or {}).items():
            archive.writestr(member, data)
    return name, buffer.getvalue()


def export_name(tables: list[str], file_format: str) -> str:
    """The download's file name, known before any byte of it is written: a table's name, or for
    several tables cx.xlsx or a zip (CSV and Parquet hold one table per file)."""
    if file_format not in ("csv", "xlsx", "parquet"):
        raise ValueError(f"cx exports csv, xlsx or parquet, not {file_format!r}")
    if len(tables) == 1:
        return f"{tables[0]}.{file_format}"
    return "cx.xlsx" if file_format == "xlsx" else f"cx-{file_format}.zip"


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet keeps types and runs no formulas, so it is written as is."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@scoped
def export_all(store: Store, viewer: Viewer, *, with_contacts: bool = False) -> dict[str, pd.DataFrame]:
    """The programme as the viewer may see it (partnerships, organisations, exchanges) in import
    columns."""
    return {kind: export_frame(store, viewer, kind, with_contacts=with_contacts) for kind in KINDS}


def _view_frames(store: Store, viewer: Viewer, what: str, with_contacts: bool, filters: dict) -> dict[str, pd.DataFrame]:
    if any(filters.values()):
        if what not in ("all", "exchanges"):
            raise CxError("filters apply to exchanges: export the exchanges to filter them")
        return {"exchanges": export_frame(store, viewer, "exchanges", ids=exchange_ids(store, viewer, **filters))}
    if what == "all":
        return export_all(store, viewer, with_contacts=with_contacts)
    return {what: export_frame(store, viewer, what, with_contacts=with_contacts)}


@scoped
def excel_refusal_of_view(store: Store, viewer: Viewer, *, what: str = "all", with_contacts: bool = False,
                          **filters) -> str | None:
    """Why `export_view` of these arguments cannot be an Excel file (the table, row and column of a
    cell Excel would cut), or None: the Data page says so before anyone downloads."""
    return excel_refusal(_view_frames(store, viewer, what, with_contacts, filters))


@scoped
def export_view(store: Store, viewer: Viewer, *, what: str = "all", file_format: str = "csv",
                with_contacts: bool = False, **filters) -> dict:
    """One download of what the viewer may see (`what='all'`), one table, or the exchanges
    matching `filters` (those of `exchange_ids`): {'name', 'data', 'counts'}. The whole archive
    as a CSV or Parquet zip also carries the evidence files the viewer may read
    (`closing.exported_evidence`: an evidence table, and each file under evidence/ by its hash),
    which `import_evidence` brings back; an Excel workbook cannot hold files."""
    frames = _view_frames(store, viewer, what, with_contacts, filters)
    attachments = {}
    if what == "all" and not any(filters.values()) and file_format != "xlsx":
        kept = exported_evidence(store, viewer)
        if len(kept):  # the whole archive carries the files the viewer may read, each named by its hash
            frames["evidence"] = kept
            attachments = {f"{EVIDENCE_FOLDER}/{sha}": evidence.read(store, sha) for sha in kept["sha256"].unique()}
    name, data = export_bytes(frames, file_format, attachments)
    return {"name": name, "data": data, "counts": {kind: len(frame) for kind, frame in frames.items()}}


@scoped
def import_evidence(store: Store, viewer: Viewer, data: bytes, filename: str, *,
                    rulebook: Rulebook | None = None) -> dict[str, int]:
    """Bring back the evidence of a whole archive (`export_view`, CSV or Parquet), after its
    exchanges: each row's file must be in the archive, match its hash, and be of a type and size
    the rules accept, and its exchange must be in cx; otherwise CxError names the row and nothing
    is restored. Files and rows are kept in one transaction; rows cx holds already are left as
    they are. Officers only (a restore): {'restored', 'present'}."""
    viewer.require_officer("restore evidence files from an archive")
    rulebook = rulebook or load_rulebook()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableFile(f"{filename} is not a zip archive; give the whole export as CSV or Parquet") from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        table = next((name for name in ("evidence.csv", "evidence.parquet") if name in members), None)
        if table is None:
            raise CxError(f"{filename} holds no evidence table (evidence.csv or evidence.parquet): export the whole "
                          "database as CSV or Parquet")
        frame = read_table(archive.read(table), table).frame
        frame = frame.apply(_unneutralise) if len(frame) else frame
        found = []
        for row, record in frame.iterrows():
            where, member = f"{filename}, {table} row {row}", f"{EVIDENCE_FOLDER}/{record['sha256']}"
            if member not in members:
                raise CxError(f"{where}: the archive lacks the file {member}")
            if members[member].file_size > rulebook.evidence_max_bytes:
                raise CxError(f"{where}: {member} is larger than an evidence file may be")
            content = archive.read(member)
            if evidence.digest(content) != record["sha256"]:
                raise CxError(f"{where}: the file {member} does not match its hash (altered or damaged)")
            media_type = evidence.checked(content, record["file_name"], rulebook)
            found.append((row, record["exchange_id"], record["sha256"], record["file_name"], media_type, content,
                          record["uploaded_by"], pd.Timestamp(record["uploaded_at"])))
    with store.transaction() as con:
        exchanges = {r[0] for r in con.execute("SELECT id FROM exchanges WHERE id = ANY(?)",
                                               [[f[1] for f in found]]).fetchall()}
        held = set(con.execute("SELECT exchange_id, sha256 FROM evidence").fetchall())
        restored = 0
        for row, exchange_id, sha256, file_name, media_type, content, uploaded_by, uploaded_at in found:
            if exchange_id not in exchanges:
                raise CxError(f"{filename}, {table} row {row}: there is no exchange {exchange_id!r} in cx "
                              "(import the archive's exchanges first)")
            if (exchange_id, sha256) in held:
                continue
            evidence.keep(store, content)
            con.execute("INSERT INTO evidence (exchange_id, sha256, file_name, media_type, size_bytes, uploaded_by, "
                        "uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [exchange_id, sha256, file_name, media_type, len(content), uploaded_by, uploaded_at])
            held.add((exchange_id, sha256))
            restored += 1
    return {"restored": restored, "present": len(found) - restored}


# --- templates ---------------------------------------------------------------------------------

def template_path(kind: str) -> Path:
    return TEMPLATES_DIR / f"{kind}.csv"


def templates_introduction() -> str:
    """What every template shares: the order of imports, the formats, ids, row numbers and lists."""
    return "\n".join([
        f"One CSV per kind of record; import them in this order: {', '.join(KINDS)}.", "",
        "- Files may be CSV (comma or semicolon, UTF-8 with or without BOM, or Windows-1252), Excel (.xlsx, "
        "choose the sheet) or Parquet, with the same column names (case and spaces do not matter).",
        "- Rows are matched on `id`: importing a file again changes nothing, and an updated file updates "
        "the rows that changed. A column left out keeps the stored values.",
        "- Reports number rows as a spreadsheet shows them (the header is row 1); in a Parquet file, "
        "row 1 is the first record.",
        "- Lists (ecosystems, activities) are separated by `;`. A cell exported as `'=...` (an apostrophe "
        "before =, +, - or @, against formula injection) is read back without the apostrophe."])


def template_columns(kind: str) -> pd.DataFrame:
    """The columns of `kind`'s template: name, whether required, type and meaning (from FIELDS)."""
    return pd.DataFrame([{"column": f"`{spec.name}`", "required": "yes" if spec.required else "no",
                          "type": "computed" if spec.computed else spec.type, "meaning": spec.help}
                         for spec in FIELDS[kind]])


def templates_readme() -> str:
    """The templates' documentation (data/templates/README.md is this text; a test keeps them the same)."""
    lines = ["# Import templates", "", templates_introduction(), ""]
    for kind in KINDS:
        lines += [f"## {kind}.csv", "", "| column | required | type | meaning |", "| --- | --- | --- | --- |"]
        lines += [f"| {' | '.join(row)} |" for row in template_columns(kind).itertuples(index=False)]
        lines.append("")
    return "\n".join(lines)
