"""The host matcher of a database, kept in step with the hosts' profiles and saved beside it.

A fitted matcher depends only on the organisations' profile columns, so it is keyed on their
fingerprint (a count and a sum of row hashes, computed in SQL): a status change, an exchange
import or a budget scenario leaves it as it is. When profiles change, the changed rows are
transformed in the fitted vocabulary and replace their rows (`HostMatcher.updated`); once the
updates have drifted from the fitted vocabulary, a full refit runs in the background while the
updated matcher serves.

The fitted matcher is saved beside the database (`cx.duckdb.matcher`), so that a restart or a
`cx match` call loads it instead of refitting. The file starts with a header naming the recipe
(this code, its libraries, the rules) and the fingerprint; the pickle after it is read only when
both match and its checksum is right, so a stale, foreign or damaged file is ignored and replaced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import pickle
import sys
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cx import matching, taxonomy
from cx.access import as_system
from cx.matching import HostMatcher
from cx.store import Store

# The columns a fitted matcher reads; any other column may change without touching it.
PROFILE_COLUMNS = ("id", "name", "kind", "country", "city", "lat", "lon", "ecosystems", "sectors", "description",
                   "can_host")
MAGIC = b"cx host matcher\n"
FORMAT = 1
LIBRARIES = ("numpy", "scipy", "pandas", "sklearn", "duckdb")

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Fitted:
    """A matcher and the profiles it describes: their fingerprint and each host's row hash."""
    matcher: HostMatcher
    fingerprint: str
    row_hashes: pd.Series  # uint64 per host id


def matcher_path(store: Store) -> Path:
    return store.sidecar(".matcher")


@as_system()
def fingerprint(store: Store) -> str:
    """The organisations' profiles in one line: how many, and the sum of their row hashes."""
    count, total = store.query(f"SELECT count(*), CAST(coalesce(sum({store.row_hash(PROFILE_COLUMNS)}), 0) AS VARCHAR) "
                               "FROM organisations").iloc[0]  # the sum exact, not as a float
    return f"{int(count)}:{total}"


def _fingerprint_of(row_hashes: pd.Series) -> str:
    """`fingerprint` computed from row hashes already read (the sum exact, in two 32-bit halves)."""
    values = row_hashes.to_numpy(dtype=np.uint64)
    high, low = int((values >> np.uint64(32)).sum()), int((values & np.uint64(0xFFFFFFFF)).sum())
    return f"{len(values)}:{(high << 32) + low}"


@as_system()
def _read(store: Store, ids: list[str] | None = None) -> pd.DataFrame:
    """The organisations (all, or those of `ids`) in id order, with each row's profile hash."""
    where = "WHERE id IN (SELECT unnest(?))" if ids is not None else ""
    return store.query(f"SELECT *, {store.row_hash(PROFILE_COLUMNS)} AS profile_hash FROM organisations {where} ORDER BY id",
                       [ids] if ids is not None else None)


def fit(store: Store) -> Fitted:
    """A full fit on the store's organisations, read in one query so the fingerprint is theirs."""
    hosts = _read(store)
    hashes = pd.Series(hosts.pop("profile_hash").to_numpy(dtype=np.uint64), index=hosts["id"].astype(str))
    return Fitted(HostMatcher().fit(hosts), _fingerprint_of(hashes), hashes)


@as_system()
def update(store: Store, fitted: Fitted) -> Fitted:
    """The fitted matcher brought up to the store's profiles: the rows whose hash changed (or
    that are new) are read and transformed, the rows of removed hosts dropped."""
    with store.reading():
        now = store.query(f"SELECT id, {store.row_hash(PROFILE_COLUMNS)} AS profile_hash FROM organisations ORDER BY id")
        hashes = pd.Series(now["profile_hash"].to_numpy(dtype=np.uint64), index=now["id"].astype(str))
        before = fitted.row_hashes
        common = hashes.index.intersection(before.index)
        edited = common[hashes[common].to_numpy() != before[common].to_numpy()]
        changed = hashes.index.difference(before.index).append(edited)
        removed = before.index.difference(hashes.index)
        hosts = _read(store, changed.tolist())
    hashes[hosts["id"].astype(str)] = hosts.pop("profile_hash").to_numpy(dtype=np.uint64)
    return Fitted(fitted.matcher.updated(hosts, removed), _fingerprint_of(hashes), hashes)


def current(store: Store) -> HostMatcher:
    """The store's matcher for a one-off use (`cx match`): the saved one when it matches the
    profiles, else a fit, saved for the next call."""
    fitted = load(store, fingerprint(store))
    if fitted is None:
        fitted = fit(store)
        save(store, fitted)
    return fitted.matcher


class Keeper:
    """One store's current matcher, for every session of a long-running app: loaded or fitted
    once, then updated in place of the changed profiles only; a refit after drift, and saving,
    run in a background thread while the matcher in hand serves. Only the current matcher is
    held; searches under way keep the one they started with."""

    def __init__(self, store: Store):
        self.store = store
        self.fits = 0  # full fits run: a status change or an exchange import must not add one
        self._fitted: Fitted | None = None
        self._saved: str | None = None  # the fingerprint of the file beside the database
        self._checked: tuple | None = None  # (data version, fingerprint) when the profiles were last read
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def matcher(self) -> HostMatcher:
        wanted = self._fingerprint()
        with self._lock:
            fitted = self._fitted
            if fitted is None:
                fitted = load(self.store, wanted)
                self._saved = fitted.fingerprint if fitted else None
            if fitted is None:
                fitted = self._fit()
            elif fitted.fingerprint != wanted:
                fitted = update(self.store, fitted)
            self._fitted = fitted
            if fitted.matcher.drifted():
                self._in_background(self._refit)
            elif fitted.fingerprint != self._saved:
                self._in_background(self._save)
            return fitted.matcher

    def _fingerprint(self) -> str:
        """The profiles' fingerprint, computed again only when the data has changed since it last
        was: the data version is a stat of the DuckDB file (a counter on PostgreSQL), the
        fingerprint a pass over every organisation. The version is read first, so a write in
        between makes the next call compute it again."""
        version = self.store.data_version()
        checked = self._checked
        if checked is None or checked[0] != version:
            checked = self._checked = (version, fingerprint(self.store))
        return checked[1]

    def wait(self) -> None:
        """Until the background refit or save, if any, is done."""
        worker = self._worker
        if worker is not None:
            worker.join()

    def _fit(self) -> Fitted:
        fitted = fit(self.store)
        self.fits += 1
        return fitted

    def _refit(self) -> None:
        fitted = self._fit()
        with self._lock:
            self._fitted = fitted  # the next call brings it up to any change made meanwhile
        self._save()

    def _save(self) -> None:
        fitted = self._fitted
        save(self.store, fitted)
        self._saved = fitted.fingerprint

    def _in_background(self, job) -> None:
        if self._worker is not None and self._worker.is_alive():
            return  # the next call starts what is still due

        def run():
            try:
                job()
            except Exception:  # the matcher in hand keeps serving; the next call tries again
                logger.exception("the host matcher of %s was not refitted or saved", self.store.location)

        self._worker = threading.Thread(target=run, name="cx host matcher", daemon=True)
        self._worker.start()


# --- the file beside the database -----------------------------------------------------------

@lru_cache(maxsize=1)
def recipe() -> str:
    """What a saved matcher was made with: the source of the matcher's modules, the libraries'
    versions, the eligible countries and the taxonomy's vocabulary. Any change makes older files
    stale."""
    modules = {matching.__name__} | {getattr(value, "__module__", None) or getattr(value, "__name__", "")
                                     for value in vars(matching).values()}
    sources = [inspect.getsource(sys.modules[name]) for name in sorted(m for m in modules if m.startswith("cx."))]
    versions = [f"{name} {sys.modules[name].__version__}" for name in LIBRARIES if name in sys.modules]
    countries = ",".join(matching.load_rulebook().eligible_countries)
    vocabulary = [path.read_text(encoding="utf-8") for path in sorted(taxonomy.TAXONOMY_DIR.glob("*.toml"))]
    digest = hashlib.sha256()
    for part in [f"format {FORMAT}", sys.version, *versions, countries, *sources, *vocabulary]:
        digest.update(part.encode())
    return digest.hexdigest()


def save(store: Store, fitted: Fitted) -> None:
    """Write the matcher beside the database, whole or not at all (a temporary file renamed);
    where the folder is not writable, the matcher is refitted next time instead."""
    payload = pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)
    header = {"recipe": recipe(), "fingerprint": fitted.fingerprint, "sha256": hashlib.sha256(payload).hexdigest()}
    path = matcher_path(store)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(MAGIC + json.dumps(header).encode() + b"\n")
            file.write(payload)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        logger.warning("the host matcher was not saved beside the database: %s", error)


def load(store: Store, wanted: str) -> Fitted | None:
    """The saved matcher when it was made by this code for the profiles of fingerprint `wanted`;
    None for a missing, stale, foreign or damaged file (never unpickled)."""
    try:
        with open(matcher_path(store), "rb") as file:
            if file.read(len(MAGIC)) != MAGIC:
                return None
            header = json.loads(file.readline(4096))
            if header.get("recipe") != recipe() or header.get("fingerprint") != wanted:
                return None
            payload = file.read()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        return None
    fitted = pickle.loads(payload)
    return fitted if isinstance(fitted, Fitted) and fitted.fingerprint == wanted else None
