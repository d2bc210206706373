"""Evidence of a stay (boarding passes, travel and accommodation invoices): files checked by their
content, kept outside the database rows in a folder beside the database, each named by its
SHA-256 so the same file is stored once and a row can tell whether its file was altered.

The rows (`evidence` table) say which exchange a file belongs to and who uploaded it; who may read
a file is decided in `cx.closing`, never by knowing its name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import filetype

from cx.errors import CxError
from cx.rules import Rulebook
from cx.store import Store

NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF",
         "image/webp": "WebP"}


class EvidenceRefused(CxError):
    """An evidence file of a type or size the rules do not accept."""


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def checked(data: bytes, file_name: str, rulebook: Rulebook) -> str:
    """The file's media type, recognised from its first bytes (a name ending in .pdf proves
    nothing); EvidenceRefused with a sentence when the type or size is not accepted."""
    accepted = " or ".join(NAMES.get(t, t) for t in rulebook.evidence_media_types)
    if not data:
        raise EvidenceRefused(f"{file_name} is empty; upload the {accepted} file itself")
    if len(data) > rulebook.evidence_max_bytes:
        raise EvidenceRefused(f"{file_name} is {_megabytes(len(data))}; an evidence file may be at most "
                              f"{_megabytes(rulebook.evidence_max_bytes)} (scan it at a lower resolution)")
    found = filetype.guess_mime(data)
    if found not in rulebook.evidence_media_types:
        what = (f"a {NAMES[found]} file" if found in NAMES else found) if found else "not a file type cx recognises"
        raise EvidenceRefused(f"{file_name} is {what} by its content; evidence must be {accepted}")
    return found


def folder(store: Store) -> Path:
    """Where a database's evidence files live: `<database>.evidence/` beside a DuckDB file (a
    PostgreSQL database's sidecar folder is on this machine, under data/cache)."""
    return store.sidecar(".evidence")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep(store: Store, data: bytes) -> str:
    """Write the file under its hash (atomically: a half-written file never has the final name);
    returns the hash. A file already kept is not written again."""
    name = digest(data)
    target = folder(store) / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    return name


def read(store: Store, sha256: str) -> bytes:
    """A kept file's bytes, checked against its name: an altered file is refused, not served."""
    data = (folder(store) / sha256).read_bytes()
    if digest(data) != sha256:
        raise CxError(f"the evidence file {sha256[:12]}… was altered after upload; restore it from a backup")
    return data


def copy_files(source: Store, target: Store, hashes) -> int:
    """Keep the files of `hashes` from the source's folder in the target's (a database copied to
    another back end or machine); returns how many. A missing or altered file is refused with its
    hash, before the caller commits the rows that name it."""
    hashes = sorted(set(hashes))
    for sha256 in hashes:
        try:
            data = read(source, sha256)
        except FileNotFoundError:
            raise CxError(f"the evidence file {sha256[:12]}… is missing from {folder(source)}; restore it "
                          "from a backup, then copy again") from None
        keep(target, data)
    return len(hashes)
