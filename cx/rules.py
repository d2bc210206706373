"""The rulebook of a ClusterXchange call: who may take part, how long a stay lasts, and the lump
sum it earns.

Every figure comes from `data/rules/` (`call.toml` and the countries table with the source of each
ceiling), so a new call's rules are a data change. The rules are computed here and nowhere else;
the functions are vectorised over DataFrames so that a million exchanges cost one array operation
per host country, not one Python call per exchange.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pycountry

from cx import DATA_DIR
from cx.errors import BadRules, IneligibleCountry, UnknownCountry

RULES_DIR = DATA_DIR / "rules"

# Public holidays are looked up for these years; a stay outside them counts weekdays only.
HOLIDAY_YEARS = range(2018, 2041)


@dataclass(frozen=True)
class Breach:
    """One broken rule: a short code to group by, and a sentence a person can act on."""

    rule: str
    message: str


@dataclass(frozen=True)
class LumpSum:
    """What one stay earns, and why."""

    working_days: int
    public_holidays: int
    halved: bool
    reasons: tuple[str, ...]
    lump_sum_eur: int
    ceiling_eur: int

    def as_dict(self) -> dict:
        return {
            "working_days": self.working_days,
            "halved": self.halved,
            "reasons": list(self.reasons),
            "lump_sum_eur": self.lump_sum_eur,
            "ceiling_eur": self.ceiling_eur,
        }


@lru_cache(maxsize=None)
def public_holidays(country: str) -> np.ndarray:
    """The country's public holidays (from the `holidays` package) as sorted datetime64[D]."""
    try:
        days = holidays.country_holidays(country, years=HOLIDAY_YEARS)
    except NotImplementedError:
        return np.array([], dtype="datetime64[D]")
    return np.array(sorted(days), dtype="datetime64[D]")


def _known_country(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def as_days(values) -> np.ndarray:
    """Dates (strings, datetimes, Timestamps) as datetime64[D]; missing values become NaT."""
    return pd.to_datetime(pd.Series(values), errors="coerce").to_numpy().astype("datetime64[D]")


def _codes(values) -> np.ndarray:
    return pd.Series(values, dtype="string").fillna("").str.strip().str.upper().to_numpy(dtype=object)


def _factorize(countries) -> tuple[np.ndarray, np.ndarray]:
    """Country codes as small integers and the distinct codes: per-country work then compares
    integers, not a million strings."""
    codes, uniques = pd.factorize(pd.Series(countries, dtype="string").fillna(""))
    return codes, pd.Series(uniques, dtype="string").str.strip().str.upper().to_numpy(dtype=object)


@dataclass(frozen=True)
class Rulebook:
    """The rules of one call. Build variants for scenarios with `dataclasses.replace`."""

    call_name: str
    countries: pd.DataFrame  # indexed by ISO-2: name, group, eligible, ceiling_eur, source, indicative
    min_working_days: int
    max_calendar_days: int
    halve_under_working_days: int
    halve_under_km: float
    visits_per_visitor: int
    taken_statuses: tuple[str, ...]
    target_exchanges: int
    budget_envelope_eur: int
    programme_start: dt.date | None = None  # the period the target belongs to
    programme_end: dt.date | None = None
    decision_days: int = 30  # when a workflow step counts as stalled (see call.toml [deadlines])
    report_days: int = 30
    payment_days: int = 10
    member_kinds: tuple[str, ...] = ()  # kinds that take part as members of a cluster organisation only
    host_only_kinds: tuple[str, ...] = ()  # kinds that may host but not visit
    non_member_hosts: tuple[str, ...] = ()  # kinds that may exceptionally host without being members
    answer_days: int = 14
    signature_days: int = 21
    validation_days: int = 14
    evidence_media_types: tuple[str, ...] = ("application/pdf",)  # see call.toml [evidence]
    evidence_max_bytes: int = 10_000_000

    @classmethod
    def load(cls, folder: Path | str | None = None) -> Rulebook:
        """The rules in `folder` (default data/rules), or BadRules naming the file and what is wrong."""
        folder = Path(folder or RULES_DIR)
        source = folder / "call.toml"
        try:
            call = tomllib.loads(source.read_text(encoding="utf-8"))
            settings = dict(
                call_name=call["call"]["name"],
                min_working_days=int(call["stay"]["min_working_days"]),
                max_calendar_days=int(call["stay"]["max_calendar_days"]),
                halve_under_working_days=int(call["lump_sum"]["halve_under_working_days"]),
                halve_under_km=float(call["lump_sum"]["halve_under_km"]),
                visits_per_visitor=int(call["visits"]["visits_per_visitor"]),
                taken_statuses=tuple(call["visits"]["taken_statuses"]),
                target_exchanges=int(call["programme"]["target_exchanges"]),
                budget_envelope_eur=int(call["programme"]["budget_envelope_eur"]),
                programme_start=call["programme"].get("start"),
                programme_end=call["programme"].get("end"),
                **{name: int(days) for name, days in call.get("deadlines", {}).items()},
                **{name: tuple(kinds) for name, kinds in call.get("participants", {}).items()},
                **({"evidence_media_types": tuple(call["evidence"]["media_types"]),
                    "evidence_max_bytes": int(call["evidence"]["max_bytes"])} if "evidence" in call else {}),
            )
            source = folder / call["call"]["countries_file"]
            countries = _countries(source)
        except FileNotFoundError:
            raise BadRules(source, "is missing") from None
        except KeyError as missing:
            raise BadRules(source, f"lacks {missing.args[0]!r}") from None
        except (ValueError, TypeError, AttributeError) as error:  # TOML, CSV and number errors are ValueErrors
            raise BadRules(source, f"cannot be read ({error})") from None
        return cls(countries=countries, **settings)

    def replace(self, **changes) -> Rulebook:
        return dataclasses.replace(self, **changes)

    def with_ceilings(self, ceilings: dict[str, int] | pd.Series) -> Rulebook:
        """A variant whose ceilings are replaced for the given countries (whole euros)."""
        table = self.countries.copy()
        new = pd.Series(ceilings, dtype="int64")
        table.loc[new.index, "ceiling_eur"] = new
        return self.replace(countries=table)

    # --- countries -------------------------------------------------------------------------

    @property
    def eligible_countries(self) -> list[str]:
        return self.countries.index[self.countries["eligible"]].tolist()

    @cached_property
    def _country_names(self) -> dict[str, str]:
        return self.countries["name"].to_dict()  # a page names dozens of countries per run

    def country_name(self, code: str) -> str:
        code = code.strip().upper()
        if code in self._country_names:
            return self._country_names[code]
        country = pycountry.countries.get(alpha_2=code)
        if country is None:
            raise UnknownCountry(code)
        return getattr(country, "common_name", None) or country.name

    def require_eligible(self, code: str) -> str:
        """The normalised code, or UnknownCountry / IneligibleCountry."""
        code = str(code).strip().upper()
        if code in self.eligible_countries:
            return code
        if code in self.countries.index or _known_country(code):
            raise IneligibleCountry(code, self.call_name)
        raise UnknownCountry(code)

    def ceilings(self, host_countries) -> np.ndarray:
        """The ceiling per host country in whole euros; 0 where the country is not eligible."""
        return self._ceilings(*_factorize(host_countries))

    def _ceilings(self, codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
        eligible = self.countries.loc[self.countries["eligible"], "ceiling_eur"]
        per_country = pd.Series(uniques).map(eligible).fillna(0).astype("int64").to_numpy()
        return per_country[codes]

    # --- stays and lump sums ---------------------------------------------------------------

    def working_days(self, host_countries, starts, ends) -> tuple[np.ndarray, np.ndarray]:
        """Working days at the host (Monday to Friday from the first to the last day there, less
        the host country's public holidays) and the public holidays that fell on weekdays.

        Travel days are not part of the stay, so `start` and `end` are the first and last day at
        the host. A stay that ends before it starts, or lacks a date, has 0 working days."""
        return self._working_days(*_factorize(host_countries), as_days(starts), as_days(ends))

    def _working_days(self, codes, uniques, start, end) -> tuple[np.ndarray, np.ndarray]:
        valid = ~np.isnat(start) & ~np.isnat(end) & (end >= start)
        # Rows grouped by host country with one (radix) sort, then one busday_count per country
        # over a contiguous slice; invalid rows go last and count 0.
        group = np.where(valid, codes, len(uniques)).astype(np.min_scalar_type(len(uniques)))
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(uniques) + 1))
        first, last = start[order], end[order] + 1
        days, weekdays = np.zeros(len(codes), dtype="int64"), np.zeros(len(codes), dtype="int64")
        for code, country in enumerate(uniques):
            rows = slice(bounds[code], bounds[code + 1])
            days[rows] = np.busday_count(first[rows], last[rows], holidays=public_holidays(country))
            weekdays[rows] = np.busday_count(first[rows], last[rows])
        unsorted = np.empty_like(order)
        unsorted[order] = np.arange(len(order))
        return days[unsorted], weekdays[unsorted] - days[unsorted]

    def quiet_week(self, after: dt.date, weeks: int = 12) -> dt.date:
        """The Monday of the first week from `after` on whose weekdays no eligible country has a
        public holiday (else, within `weeks`, the one with fewest): a default stay that no host
        country shortens, so no lump sum is halved by the calendar alone."""
        monday = after + dt.timedelta(days=(7 - after.weekday()) % 7)
        mondays = np.array([monday + dt.timedelta(weeks=w) for w in range(weeks)], dtype="datetime64[D]")
        hit = np.zeros(weeks, dtype="int64")
        for country in self.eligible_countries:
            days = public_holidays(country)
            hit += np.searchsorted(days, mondays + 5) - np.searchsorted(days, mondays)
        return mondays[int(np.argmin(hit))].astype(dt.date)

    def halved_short(self, working_days) -> np.ndarray:
        """Whether each stay is halved for having too few working days."""
        return np.asarray(working_days) < self.halve_under_working_days

    def halved_near(self, distance_km) -> np.ndarray:
        """Whether each stay is halved for the organisations being too close (NaN: not halved)."""
        return np.asarray(distance_km, dtype="float64") < self.halve_under_km

    @staticmethod
    def halve(ceiling):
        """The halved lump sum: half the ceiling, rounded down to the whole euro."""
        return ceiling // 2

    def lump_sums(self, exchanges: pd.DataFrame) -> pd.DataFrame:
        """Working days, halving and lump sum for every exchange.

        `exchanges` has `host_country`, `start`, `end` and `distance_km` (NaN when a place is
        unknown: such a stay is not halved for distance, and data-quality views report the place).
        Returns a frame on the same index; money is in whole euros (int64), halving rounds down."""
        countries = _factorize(exchanges["host_country"])
        days, on_holidays = self._working_days(*countries, as_days(exchanges["start"]), as_days(exchanges["end"]))
        distance = pd.to_numeric(exchanges["distance_km"], errors="coerce").to_numpy(dtype="float64")
        ceiling = self._ceilings(*countries)
        halved_short = self.halved_short(days)
        halved_near = self.halved_near(distance)
        halved = halved_short | halved_near
        return pd.DataFrame(
            {
                "working_days": days,
                "public_holidays": on_holidays,
                "halved_short": halved_short,
                "halved_near": halved_near,
                "halved": halved,
                "ceiling_eur": ceiling,
                "lump_sum_eur": np.where(halved, self.halve(ceiling), ceiling),
            },
            index=exchanges.index,
        )

    def _reason_parts(self, lump_sums: pd.DataFrame, distance_km) -> tuple[np.ndarray, np.ndarray]:
        distance = pd.Series(np.asarray(distance_km, dtype="float64"), index=lump_sums.index)
        short = np.where(
            lump_sums["halved_short"],
            "the stay has " + lump_sums["working_days"].astype(str)
            + f" working days, fewer than {self.halve_under_working_days}",
            "",
        ).astype(str)
        near = np.where(
            lump_sums["halved_near"],
            "the organisations are " + distance.round().fillna(0).astype("int64").astype(str)
            + f" km apart, less than {self.halve_under_km:g} km",
            "",
        ).astype(str)
        return short, near

    def halving_reasons(self, lump_sums: pd.DataFrame, distance_km) -> pd.Series:
        """Why each lump sum is halved, as a sentence ('' when it is not)."""
        short, near = self._reason_parts(lump_sums, distance_km)
        both = np.where((short != "") & (near != ""), " and ", "")
        return pd.Series(np.char.add(np.char.add(short, both), near), index=lump_sums.index)

    def lump_sum(self, host_country: str, start, end, distance_km: float) -> LumpSum:
        """The lump sum of one stay (the vectorised rule applied to one row)."""
        frame = pd.DataFrame({"host_country": [host_country], "start": [start], "end": [end],
                              "distance_km": [distance_km]})
        row = self.lump_sums(frame)
        short, near = self._reason_parts(row, frame["distance_km"])
        row = row.iloc[0]
        return LumpSum(
            working_days=int(row["working_days"]),
            public_holidays=int(row["public_holidays"]),
            halved=bool(row["halved"]),
            reasons=tuple(str(part) for part in (short[0], near[0]) if part),
            lump_sum_eur=int(row["lump_sum_eur"]),
            ceiling_eur=int(row["ceiling_eur"]),
        )

    # --- eligibility -----------------------------------------------------------------------

    def check_exchanges(self, exchanges: pd.DataFrame) -> pd.DataFrame:
        """Every broken rule of every exchange, as rows (`row`, `rule`, `message`).

        `exchanges` has `visitor_country`, `host_country`, `start`, `end`, and optionally
        `visits_taken`: how many exchanges of the visitor other than this one already have a
        status in `taken_statuses`. `row` is the frame's index label of the exchange; `check`
        numbers the checks in the order they run (the rows come by check, then in the frame's order)."""
        visitor, host = _codes(exchanges["visitor_country"]), _codes(exchanges["host_country"])
        start, end = as_days(exchanges["start"]), as_days(exchanges["end"])
        days, on_holidays = self.working_days(host, start, end)
        calendar_days = (end - start).astype("int64") + 1
        taken = (
            pd.to_numeric(exchanges["visits_taken"], errors="coerce").fillna(0).to_numpy()
            if "visits_taken" in exchanges
            else np.zeros(len(exchanges))
        )
        eligible = set(self.eligible_countries)
        known = {code for code in set(visitor) | set(host) if code in self.countries.index or _known_country(code)}
        dated = ~np.isnat(start) & ~np.isnat(end)
        index = exchanges.index.to_numpy()
        found: list[tuple] = []
        checks = itertools.count()

        def add(mask, rule, message):
            check = next(checks)
            for i in np.flatnonzero(mask):
                found.append((index[i], rule, message(i), check))

        for role, codes in (("visitor", visitor), ("host", host)):
            add([c not in known for c in codes], "unknown_country",
                lambda i, codes=codes, role=role: f"the {role}'s country {codes[i]!r} is not a known ISO-2 country code")
            add([c in known and c not in eligible for c in codes], "ineligible_country",
                lambda i, codes=codes, role=role: f"the {role}'s country {codes[i]} ({self.country_name(codes[i])}) "
                f"does not take part in {self.call_name}")
        add((visitor == host) & (visitor != ""), "same_country",
            lambda i: f"the visitor and the host are both in {visitor[i]}; they must be in different countries")
        add(~dated, "missing_dates", lambda i: "the stay needs a first and a last day at the host")
        add(dated & (end < start), "end_before_start", lambda i: _ends_before_it_starts(start[i], end[i]))
        add(dated & (end >= start) & (days < self.min_working_days), "too_short",
            lambda i: f"the stay has {days[i]} working days in {host[i]}"
            + (f" ({on_holidays[i]} public holiday{'s' if on_holidays[i] != 1 else ''})" if on_holidays[i] else "")
            + f"; the minimum is {self.min_working_days}")
        add(dated & (calendar_days > self.max_calendar_days), "too_long", lambda i: self._too_long(calendar_days[i]))
        add(taken >= self.visits_per_visitor, "visited_already",
            lambda i: f"the visitor already has {int(taken[i])} approved or completed exchange"
            f"{'s' if taken[i] != 1 else ''}; a visitor may visit {self.visits_per_visitor} time"
            f"{'s' if self.visits_per_visitor != 1 else ''} in the scheme")
        return pd.DataFrame(found, columns=["row", "rule", "message", "check"])

    def _too_long(self, calendar_days: int) -> str:
        return f"the stay lasts {calendar_days} calendar days; the maximum is one month ({self.max_calendar_days} days)"

    def check_dates(self, start, end) -> list[Breach]:
        """The rules a stay's dates break whatever the host: a form checks them before listing hosts.

        Working days are counted Monday to Friday here; a host country's public holidays can only
        take days away, so they are checked per host (`check_exchanges`)."""
        first, last = as_days([start])[0], as_days([end])[0]
        if np.isnat(first) or np.isnat(last):
            return [Breach("missing_dates", "the stay needs a first and a last day at the host")]
        if last < first:
            return [Breach("end_before_start", _ends_before_it_starts(first, last))]
        breaches = []
        weekdays = int(np.busday_count(first, last + 1))
        if weekdays < self.min_working_days:
            breaches.append(Breach("too_short", f"the stay has {weekdays} weekday{'s' * (weekdays != 1)} "
                                                f"(Monday to Friday); the minimum is {self.min_working_days} working days"))
        calendar_days = int((last - first).astype("int64")) + 1
        if calendar_days > self.max_calendar_days:
            breaches.append(Breach("too_long", self._too_long(calendar_days)))
        return breaches

    def check_participant(self, kind: str, country: str, member_of: str | None, visits: bool,
                          hosts: bool) -> list[Breach]:
        """Every rule an organisation breaks by taking part as it says (a visitor, a host or both):
        its country, its kind and its membership of a cluster organisation. Empty when it may."""
        breaches = []
        try:
            self.require_eligible(country)
        except UnknownCountry as error:
            breaches.append(Breach("unknown_country", str(error)))
        except IneligibleCountry:
            code = str(country).strip().upper()
            breaches.append(Breach("ineligible_country", f"the country {code} ({self.country_name(code)}) "
                                                         f"does not take part in {self.call_name}"))
        if not (visits or hosts):
            breaches.append(Breach("no_role", "an organisation takes part as a visitor, a host or both; choose one"))
        if visits and kind in self.host_only_kinds:
            breaches.append(Breach("host_only", f"an organisation of kind {kind!r} may host but not visit"))
        if kind in self.member_kinds and not str(member_of or "").strip():
            if kind not in self.non_member_hosts:
                breaches.append(Breach("not_a_member", f"an organisation of kind {kind!r} takes part as a member "
                                                       "of a cluster organisation: name the cluster"))
            elif visits:
                breaches.append(Breach("not_a_member", f"an organisation of kind {kind!r} visits only as a member "
                                                       "of a cluster organisation: name the cluster, or register "
                                                       "to host only (accepted case by case)"))
        return breaches

    def check_exchange(self, visitor_country: str, host_country: str, start, end, visits_taken: int = 0) -> list[Breach]:
        """Every rule one planned exchange breaks (empty when it is fine)."""
        frame = pd.DataFrame({"visitor_country": [visitor_country], "host_country": [host_country],
                              "start": [start], "end": [end], "visits_taken": [visits_taken]})
        return [Breach(rule, message) for rule, message in self.check_exchanges(frame)[["rule", "message"]].itertuples(index=False)]


def _ends_before_it_starts(start, end) -> str:
    return f"the stay ends ({end}) before it starts ({start})"


def _countries(path: Path) -> pd.DataFrame:
    """The countries table, indexed by ISO-2: name, group, eligible, ceiling_eur, indicative, source."""
    table = pd.read_csv(path, dtype={"country_iso2": "string"})
    table = table.rename(columns={"country_iso2": "iso2", "country": "name_in_source"})
    table["iso2"] = table["iso2"].str.upper()
    table["eligible"] = table["eligible"].str.lower().isin(["yes", "true", "1"])
    table["ceiling_eur"] = table["ceiling_eur"].astype("int64")
    table["indicative"] = table["source"].str.lower().str.startswith("indicative")
    # Names from ISO 3166 (pycountry); Kosovo's XK is user-assigned, so it keeps the source's name.
    table["name"] = [
        getattr(pycountry.countries.get(alpha_2=code), "common_name", None)
        or getattr(pycountry.countries.get(alpha_2=code), "name", None)
        or fallback
        for code, fallback in zip(table["iso2"], table["name_in_source"])
    ]
    return table.set_index("iso2")[["name", "group", "eligible", "ceiling_eur", "indicative", "source"]]


@lru_cache(maxsize=4)
def load_rulebook(folder: Path | str | None = None) -> Rulebook:
    """The rulebook of the call in `folder`, loaded once per process."""
    return Rulebook.load(folder)
