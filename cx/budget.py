"""Budget scenarios: how many exchanges an envelope buys, and how sure we are.

A `Scenario` is plain data (JSON in the `scenarios` table): the envelope, the number of exchanges
(or as many as the envelope allows), the host-country mix, the distribution of working days, a
sample of visitor-to-host distances per host country, the ceilings (the rulebook's, edited per
country and scaled) and the halving thresholds. The rule itself is the rulebook's: a scenario
only builds a rulebook variant with `Rulebook.with_ceilings` / `Rulebook.replace`.

Each simulated stay has a host country (from the mix), working days and a distance (drawn
independently given the host country), so its lump sum is one of four outcomes per country: full,
halved for a short stay, halved for a near host, or both. `simulate` applies the rulebook's
halving to the distributions once to get the probability of each outcome, then draws every stay
of every run from that categorical distribution with one array operation per block of runs (an
alias table fed by 32 random bits per stay): the same distribution as drawing country, days and
distance one by one, at a fraction of the cost. Totals are cumulated along each run, which also
gives how many exchanges fit in the envelope in that run.

`cost_plan` is the deterministic mode: a planned list of exchanges costed line by line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from cx.access import as_system
from cx.errors import BadPlan, BadScenario, CxError, SharesDoNotSum, UnknownCity
from cx.export import to_csv_bytes, to_excel_bytes
from cx.formats import euros
from cx.geo import distance_km, gazetteer
from cx.rules import Rulebook, load_rulebook
from cx.store import Store

CONFIDENCE = 0.95
# Fixed sizes make results depend only on the seed: run i always sees the same random stream,
# so two scenarios with one seed differ by their parameters, not by noise.
BATCH_RUNS = 500
BLOCK_STAYS = 512
OUTCOMES = ("full", "halved: short", "halved: near", "halved: short and near")
DISTANCE_SAMPLE = 400  # distances kept per host country: enough for its share of near hosts, small as JSON
MAX_STAYS_PER_RUN = 200_000
# What one simulation may draw: runs, and runs x exchanges (stays). About 20 s on one core at the
# top; 10,000 runs already give stable percentiles.
MAX_RUNS = 100_000
MAX_DRAWS = 100_000_000
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Scenario:
    """A budget question, as plain data.

    `exchanges` is None for "as many as the envelope allows" (then the simulated number is the
    one affordable with 95% confidence). `host_mix` and `working_days` are shares that add up to
    1. `distances_km` holds a sample of distances per host country; a country without one draws
    from all samples together. Ceilings are the rulebook's, with `ceilings_eur` replacing some
    countries' figures, all multiplied by `ceiling_scale`."""

    name: str
    envelope_eur: int
    exchanges: int | None
    host_mix: dict[str, float]
    working_days: dict[int, float]
    distances_km: dict[str, list[float]]
    ceiling_scale: float = 1.0
    ceilings_eur: dict[str, int] = field(default_factory=dict)
    halve_under_working_days: int = 5
    halve_under_km: float = 200.0
    runs: int = 10_000
    seed: int = 1
    basis: str = ""  # where the distributions come from, in words

    # --- serialisation ----------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        data = json.loads(text)
        data["working_days"] = {int(days): share for days, share in data["working_days"].items()}
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def replace(self, **changes) -> Scenario:
        return dataclasses.replace(self, **changes)

    # --- the rules of this scenario ---------------------------------------------------------

    def rulebook(self, base: Rulebook | None = None) -> Rulebook:
        """The call's rulebook with this scenario's ceilings and halving thresholds."""
        base = base or load_rulebook()
        edited = base.with_ceilings({code: int(value) for code, value in self.ceilings_eur.items()})
        scaled = (edited.countries["ceiling_eur"] * self.ceiling_scale).round().astype("int64")
        return edited.with_ceilings(scaled).replace(
            halve_under_working_days=int(self.halve_under_working_days),
            halve_under_km=float(self.halve_under_km))

    def ceiling_table(self, base: Rulebook | None = None) -> pd.DataFrame:
        """Per eligible country: name, the call's ceiling and whether that figure is indicative
        (not published), this scenario's ceiling before and after scaling, and the share (%) of
        exchanges hosted there. `with_table` reads an edited copy back."""
        base = base or load_rulebook()
        countries = base.countries.loc[base.eligible_countries]
        return pd.DataFrame({
            "country": countries.index,
            "name": countries["name"].to_numpy(),
            "figure": np.where(countries["indicative"], "indicative", "published"),
            "call_ceiling_eur": countries["ceiling_eur"].to_numpy(),
            "ceiling_eur": [int(self.ceilings_eur.get(code, value)) for code, value in countries["ceiling_eur"].items()],
            "scaled_ceiling_eur": self.rulebook(base).ceilings(countries.index),
            "share_percent": [100 * float(self.host_mix.get(code, 0.0)) for code in countries.index],
        })

    def with_table(self, table: pd.DataFrame) -> Scenario:
        """The scenario with the ceilings and shares of an edited `ceiling_table` (edited ceilings
        are kept where they differ from the call's; shares are percentages)."""
        ceilings = {row.country: int(row.ceiling_eur) for row in table.itertuples()
                    if pd.notna(row.ceiling_eur) and int(row.ceiling_eur) != int(row.call_ceiling_eur)}
        def share(row):  # an unedited share keeps its exact value, not one through percent and back
            current = self.host_mix.get(row.country, 0.0)
            return current if math.isclose(100 * current, row.share_percent) else float(row.share_percent) / 100
        mix = {row.country: share(row) for row in table.itertuples()
               if pd.notna(row.share_percent) and row.share_percent != 0}
        return self.replace(ceilings_eur=ceilings, host_mix=mix)

    def ceilings_in_words(self) -> str:
        scale = "the call's" if self.ceiling_scale == 1 else f"the call's {self.ceiling_scale - 1:+.0%}"
        return scale + (f", {len(self.ceilings_eur)} edited" if self.ceilings_eur else "")

    def halving_in_words(self) -> str:
        return f"{self.halve_under_working_days} working days or {self.halve_under_km:g} km"

    # --- checks -----------------------------------------------------------------------------

    def validate(self, base: Rulebook | None = None) -> None:
        """Raise BadScenario naming every problem (SharesDoNotSum when only the sums are off)."""
        base = base or load_rulebook()
        problems = []
        if self.envelope_eur < 0:
            problems.append(f"the envelope is {euros(self.envelope_eur)}; it cannot be negative")
        if self.exchanges is not None and self.exchanges < 1:
            problems.append(f"the number of exchanges is {self.exchanges}; give 1 or more, "
                            "or none for as many as the envelope allows")
        if self.runs < 1:
            problems.append(f"the number of runs is {self.runs}; the simulation needs at least 1 "
                            "(10,000 gives stable percentiles)")
        elif self.runs > MAX_RUNS:
            problems.append(f"the number of runs is {self.runs:,}; cx runs at most {MAX_RUNS:,} "
                            "(10,000 gives stable percentiles)")
        elif self.exchanges is not None and self.exchanges >= 1:
            problems += _too_many_draws(self.runs, self.exchanges)
        if self.ceiling_scale <= 0:
            problems.append(f"the ceiling scale is {self.ceiling_scale:g}; it must be above 0 (1.1 is +10%)")
        if self.halve_under_working_days < 0 or self.halve_under_km < 0:
            problems.append("the halving thresholds cannot be negative")
        eligible = set(base.eligible_countries)
        mix = {code: share for code, share in self.host_mix.items() if share}
        if not mix:
            problems.append("the host-country mix is empty; give at least one host country a share")
        for code in sorted(set(mix) | set(self.ceilings_eur)):
            if code not in eligible:
                problems.append(f"{code!r} is not an eligible host country of {base.call_name}")
        for code, share in mix.items():
            if share < 0:
                problems.append(f"the share of {code} is {share:.1%}; shares cannot be negative")
        for code, value in self.ceilings_eur.items():
            if value < 0:
                problems.append(f"the ceiling of {code} is {euros(value)}; it cannot be negative")
        if not problems:
            ceilings = dict(zip(mix, self.rulebook(base).ceilings(list(mix))))
            for code in mix:
                if ceilings[code] <= 0:
                    problems.append(f"the ceiling of {code} is EUR 0, so its exchanges cost nothing; "
                                    "give it a ceiling or a share of 0")
        if not self.working_days or not any(self.working_days.values()):
            problems.append("the distribution of working days is empty")
        elif min(self.working_days.values()) < 0:
            problems.append("shares of working days cannot be negative")
        if not any(len(sample) for sample in self.distances_km.values()):
            problems.append("the scenario has no distances between visitors and hosts")
        if problems:
            raise BadScenario("; ".join(problems))
        for what, shares in (("host-country", self.host_mix), ("working-days", self.working_days)):
            total = sum(shares.values())
            if abs(total - 1) > 1e-3:
                raise SharesDoNotSum(what, total)

    def normalised(self) -> Scenario:
        """The same scenario with both sets of shares scaled to add up to 100%."""
        def scale(shares):
            total = sum(v for v in shares.values() if v > 0)
            return {key: v / total for key, v in shares.items() if v > 0} if total else dict(shares)
        return self.replace(host_mix=scale(self.host_mix), working_days=scale(self.working_days))

    # --- variants for the planner's questions -------------------------------------------------

    def with_uniform_blend(self, weight: float, base: Rulebook | None = None) -> Scenario:
        """The mix moved `weight` (0 to 1) of the way towards an equal share for every eligible host."""
        countries = (base or load_rulebook()).eligible_countries
        mix = {code: (1 - weight) * self.host_mix.get(code, 0.0) + weight / len(countries) for code in countries}
        return self.replace(host_mix={code: share for code, share in mix.items() if share > 0})

    def with_short_share(self, share: float) -> Scenario:
        """Working days reweighted so that `share` of the stays are shorter than the halving
        threshold, keeping the proportions within short and within long stays."""
        days = np.array(list(self.working_days), dtype="int64")
        weights = np.array(list(self.working_days.values()), dtype="float64")
        short = days < self.halve_under_working_days
        short_total, long_total = weights[short].sum(), weights[~short].sum()
        if (share > 0 and not short_total) or (share < 1 and not long_total):
            raise BadScenario(f"the working-days distribution has no stays on one side of "
                              f"{self.halve_under_working_days} working days to reweight")
        scaled = np.zeros_like(weights)
        if short_total:
            scaled[short] = weights[short] * share / short_total
        if long_total:
            scaled[~short] = weights[~short] * (1 - share) / long_total
        return self.replace(working_days={int(d): float(w) for d, w in zip(days, scaled) if w > 0})

    def short_share(self) -> float:
        return float(sum(share for days, share in self.working_days.items()
                         if days < self.halve_under_working_days))


# --- building scenarios ---------------------------------------------------------------------


def distances_between_places(places: pd.DataFrame, host_countries, per_country: int = DISTANCE_SAMPLE,
                             seed: int = 0) -> dict[str, list[float]]:
    """A sample of geodesic distances per host country between a host place there and a visitor
    place in another country, drawn in proportion to `weight` (organisations: 1 each; cities:
    population). `places` has country, lat, lon and optionally weight."""
    rng = np.random.default_rng(seed)
    places = places.dropna(subset=["lat", "lon"])
    weight = places["weight"].to_numpy(dtype="float64") if "weight" in places else np.ones(len(places))
    countries = places["country"].to_numpy()
    samples = {}
    for code in host_countries:
        here = countries == code
        if not here.any() or here.all():
            continue
        hosts = rng.choice(np.flatnonzero(here), per_country, p=weight[here] / weight[here].sum())
        visitors = rng.choice(np.flatnonzero(~here), per_country, p=weight[~here] / weight[~here].sum())
        km = distance_km(places["lat"].to_numpy()[visitors], places["lon"].to_numpy()[visitors],
                         places["lat"].to_numpy()[hosts], places["lon"].to_numpy()[hosts])
        samples[code] = np.round(km, 1).tolist()
    return samples


def uniform_scenario(name: str = "Uniform over eligible countries", rulebook: Rulebook | None = None,
                     **settings) -> Scenario:
    """A scenario with no history: every eligible host country equally likely, any number of
    working days from the minimum to a month's worth (22) equally likely, and distances between
    the eligible countries' cities of 100,000+ inhabitants (GeoNames, weighted by population)."""
    rulebook = rulebook or load_rulebook()
    countries = rulebook.eligible_countries
    cities = gazetteer().cities
    cities = cities[cities["country"].isin(countries)]
    # Small countries without such a city keep their largest one.
    largest = cities.loc[cities.groupby("country")["population"].idxmax()]
    places = pd.concat([cities[cities["population"] >= 100_000], largest]).drop_duplicates(subset=["name", "country"])
    days = range(rulebook.min_working_days, 23)
    return Scenario(
        name=name,
        envelope_eur=settings.pop("envelope_eur", rulebook.budget_envelope_eur),
        exchanges=settings.pop("exchanges", rulebook.target_exchanges),
        host_mix={code: 1 / len(countries) for code in countries},
        working_days={d: 1 / len(days) for d in days},
        distances_km=distances_between_places(places.assign(weight=places["population"]), countries),
        halve_under_working_days=rulebook.halve_under_working_days,
        halve_under_km=rulebook.halve_under_km,
        basis="uniform mix and working days; distances between cities of 100,000+ inhabitants",
        **settings,
    )


@as_system()
def scenario_from_history(store: Store, name: str = "From history", rulebook: Rulebook | None = None,
                          distances: str = "history", **settings) -> Scenario:
    """A scenario learnt from the database's exchanges that went ahead (approved to paid): the
    host-country mix, the working days, and the distances per host country, either those of the
    exchanges (`distances="history"`) or between the organisations' real places
    (`distances="places"`). Countries without a usable distance fall back to the places."""
    rulebook = rulebook or load_rulebook()
    # Only what a stay costs is read (no organisation, name or contact), so every role may plan.
    exchanges = store.query("SELECT e.status, e.working_days, e.distance_km, h.country AS host_country "
                            "FROM exchanges e LEFT JOIN organisations h ON h.id = e.host_id")
    exchanges = exchanges[exchanges["status"].isin(rulebook.taken_statuses)
                          & exchanges["host_country"].isin(rulebook.eligible_countries)
                          & (exchanges["working_days"].fillna(0) > 0)]
    if exchanges.empty:
        raise BadScenario("the database has no exchanges that went ahead to learn from; load or import "
                          "exchanges, or start from a uniform scenario")
    mix = exchanges["host_country"].value_counts(normalize=True).sort_index()
    days = exchanges["working_days"].astype("int64").value_counts(normalize=True).sort_index()
    samples: dict[str, list[float]] = {}
    if distances == "history":
        rng = np.random.default_rng(0)
        for code, group in exchanges.dropna(subset=["distance_km"]).groupby("host_country"):
            km = group["distance_km"].to_numpy(dtype="float64")
            if len(km) > DISTANCE_SAMPLE:
                km = rng.choice(km, DISTANCE_SAMPLE, replace=False)
            samples[str(code)] = np.round(km, 1).tolist()
    missing = [code for code in mix.index if code not in samples]
    if missing:
        places = store.query("SELECT country, lat, lon FROM organisations ORDER BY id")
        samples.update(distances_between_places(places, missing))
    ahead = len(exchanges)
    return Scenario(
        name=name,
        envelope_eur=settings.pop("envelope_eur", rulebook.budget_envelope_eur),
        exchanges=settings.pop("exchanges", rulebook.target_exchanges),
        host_mix={str(code): float(share) for code, share in mix.items()},
        working_days={int(d): float(share) for d, share in days.items()},
        distances_km=samples,
        halve_under_working_days=rulebook.halve_under_working_days,
        halve_under_km=rulebook.halve_under_km,
        basis=f"{ahead:,} exchanges that went ahead in the database; distances "
              + ("of those exchanges" if distances == "history" else "between the organisations' places"),
        **settings,
    )


# --- simulation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """Every possible lump sum of one stay: host country x halving reason, with its probability."""

    countries: list[str]
    values: np.ndarray  # whole euros, 4 per country in the order of OUTCOMES
    probabilities: np.ndarray


def outcomes(scenario: Scenario, base: Rulebook | None = None) -> Outcomes:
    """The rulebook's halving applied to the scenario's distributions: for each host country
    the probability of a full, short, near, or short-and-near stay, and its lump sum."""
    rulebook = scenario.rulebook(base)
    countries = sorted(code for code, share in scenario.host_mix.items() if share > 0)
    mix = np.array([scenario.host_mix[code] for code in countries])
    days = np.array(list(scenario.working_days), dtype="int64")
    day_shares = np.array(list(scenario.working_days.values()), dtype="float64")
    p_short = float(day_shares[rulebook.halved_short(days)].sum() / day_shares.sum())
    pooled = np.concatenate([np.asarray(s, dtype="float64") for s in scenario.distances_km.values()])
    p_near = np.array([rulebook.halved_near(scenario.distances_km.get(code) or pooled).mean() for code in countries])
    ceilings = rulebook.ceilings(countries)
    values = np.stack([ceilings, *[rulebook.halve(ceilings)] * 3], axis=1).ravel()
    probabilities = (mix[:, None] / mix.sum() * np.stack([
        (1 - p_short) * (1 - p_near), p_short * (1 - p_near), (1 - p_short) * p_near, p_short * p_near,
    ], axis=1)).ravel()
    return Outcomes(countries, values.astype("int64"), probabilities)


class _AliasTable:
    """Walker's alias method over up to 256 outcomes, fed by 32-bit random words: the top 8 bits
    pick a column, the low 24 bits decide between the column and its alias. Exact to 2**-24."""

    def __init__(self, probabilities: np.ndarray):
        size = 256
        if len(probabilities) > size:
            raise BadScenario(f"a scenario can have at most {size // 4} host countries")
        scaled = np.zeros(size)
        scaled[:len(probabilities)] = probabilities / probabilities.sum() * size
        alias = np.arange(size)
        small = [i for i in range(size) if scaled[i] < 1]
        large = [i for i in range(size) if scaled[i] >= 1]
        while small and large:
            low, high = small.pop(), large.pop()
            alias[low] = high
            scaled[high] -= 1 - scaled[low]
            (small if scaled[high] < 1 else large).append(high)
        for i in small + large:  # rounding leftovers keep their own column
            scaled[i] = 1
        self.threshold = np.minimum(np.round(scaled * 2**24), 2**24).astype("uint32")
        self.alias = alias.astype("uint8")

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        words = rng.bit_generator.random_raw(shape[0] * shape[1] // 2 + 1).view("uint32")
        words = words[:shape[0] * shape[1]].reshape(shape)
        column = (words >> 24).astype("uint8")
        keep = (words & 0xFFFFFF) < self.threshold[column]
        return np.where(keep, column, self.alias[column])


def _runs(outcomes_: Outcomes, table: _AliasTable, envelope: int, exchanges: int, runs: int, seed: int,
          progress: Progress | None, share: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per run: the total of the first `exchanges` stays and how many stays fit in the envelope;
    and how often each outcome occurred among the first `exchanges` stays of all runs."""
    values = np.zeros(256, dtype="int64")
    values[:len(outcomes_.values)] = outcomes_.values
    totals = np.zeros(runs, dtype="int64")
    affordable = np.zeros(runs, dtype="int64")
    counts = np.zeros(256, dtype="int64")
    batches = np.random.SeedSequence(seed).spawn(math.ceil(runs / BATCH_RUNS))
    for number, seed_sequence in enumerate(batches):
        rng = np.random.default_rng(seed_sequence)
        first = number * BATCH_RUNS
        size = min(BATCH_RUNS, runs - first)
        carry = np.zeros(size, dtype="int64")
        done = 0
        while done < exchanges or (carry <= envelope).any():
            if done >= MAX_STAYS_PER_RUN:
                raise BadScenario(f"the envelope pays for more than {MAX_STAYS_PER_RUN:,} exchanges; "
                                  "simulate a smaller envelope")
            picks = table.draw(rng, (BATCH_RUNS, BLOCK_STAYS))[:size]
            cumulative = np.cumsum(values[picks], axis=1) + carry[:, None]
            affordable[first:first + size] += (cumulative <= envelope).sum(axis=1)
            if done < exchanges <= done + BLOCK_STAYS:
                totals[first:first + size] = cumulative[:, exchanges - done - 1]
            within = min(max(exchanges - done, 0), BLOCK_STAYS)
            if within:
                counts += np.bincount(picks[:, :within].ravel(), minlength=256)
            carry = cumulative[:, -1]
            done += BLOCK_STAYS
        if progress:
            progress(share[0] + (share[1] - share[0]) * (number + 1) / len(batches),
                     f"{first + size:,} of {runs:,} runs")
    return totals, affordable, counts


@dataclass(frozen=True)
class Simulation:
    """What a scenario costs over many runs. Money in whole euros."""

    scenario: Scenario
    exchanges: int
    totals: np.ndarray  # total lump sums per run
    expected_total_eur: int
    p5_eur: int
    p50_eur: int
    p95_eur: int
    p_exceed: float  # probability that the total exceeds the envelope
    affordable: int  # exchanges that fit in the envelope with 95% confidence
    share_halved: float
    share_halved_short: float
    share_halved_near: float
    by_country: pd.DataFrame  # country, name, exchanges, cost_eur, share_of_cost (expected values)
    affordable_per_run: np.ndarray  # exchanges that fit in the envelope, per run

    def key_figures(self) -> dict:
        """The figures a planner reads, JSON-ready."""
        return {
            "scenario": self.scenario.name,
            "envelope_eur": int(self.scenario.envelope_eur),
            "exchanges": int(self.exchanges),
            "runs": int(self.scenario.runs),
            "expected_total_eur": self.expected_total_eur,
            "p5_eur": self.p5_eur,
            "p50_eur": self.p50_eur,
            "p95_eur": self.p95_eur,
            "p_exceed_envelope": round(self.p_exceed, 4),
            "affordable_exchanges_95": self.affordable,
            "share_halved": round(self.share_halved, 4),
            "share_halved_short": round(self.share_halved_short, 4),
            "share_halved_near": round(self.share_halved_near, 4),
        }

    def as_dict(self) -> dict:
        return {**self.key_figures(),
                "cost_by_host_country": self.by_country.to_dict(orient="records")}


def _too_many_draws(runs: int, exchanges: int, as_many: bool = False) -> list[str]:
    """The sentence refusing a simulation of more than MAX_DRAWS stays, if it is one."""
    if runs * exchanges <= MAX_DRAWS:
        return []
    what = f"about {exchanges:,} exchanges (as many as the envelope allows)" if as_many else f"{exchanges:,} exchanges"
    return [f"{runs:,} runs of {what} would draw {runs * exchanges:,} stays; cx draws at most {MAX_DRAWS:,} "
            f"in one simulation, so use at most {max(MAX_DRAWS // max(exchanges, 1), 1):,} runs"]


def simulate(scenario: Scenario, rulebook: Rulebook | None = None, progress: Progress | None = None) -> Simulation:
    """Monte Carlo of the scenario's total lump sums (see the module's docstring).

    Reproducible: the same scenario and seed give the same result. `progress(fraction, text)` is
    called after each batch of runs. Raises BadScenario (or SharesDoNotSum) for bad input."""
    base = rulebook or load_rulebook()
    scenario.validate(base)
    possible = outcomes(scenario, base)
    table = _AliasTable(possible.probabilities)
    envelope, runs = int(scenario.envelope_eur), int(scenario.runs)
    if scenario.exchanges is None:
        expected = envelope / max(float(possible.values @ possible.probabilities), 1.0)
        if _too_many_draws(runs, int(expected), as_many=True):
            raise BadScenario(_too_many_draws(runs, int(expected), as_many=True)[0])
        # As many as the envelope allows: find that number, then cost it with the same draws.
        _, affordable, _ = _runs(possible, table, envelope, 0, runs, scenario.seed, progress, (0, 0.5))
        exchanges = max(_affordable(affordable), 1)
        span = (0.5, 1.0)
    else:
        exchanges, span = int(scenario.exchanges), (0.0, 1.0)
    totals, affordable, counts = _runs(possible, table, envelope, exchanges, runs, scenario.seed, progress, span)
    stays = exchanges * runs
    counts = counts[:len(possible.values)].reshape(-1, 4)
    cost = counts * possible.values.reshape(-1, 4)
    names = [base.country_name(code) for code in possible.countries]
    by_country = pd.DataFrame({
        "country": possible.countries,
        "name": names,
        "exchanges": np.round(counts.sum(axis=1) / runs, 1),
        "cost_eur": np.rint(cost.sum(axis=1) / runs).astype("int64"),
    }).sort_values("cost_eur", ascending=False, ignore_index=True)
    by_country["share_of_cost"] = (by_country["cost_eur"] / max(by_country["cost_eur"].sum(), 1)).round(4)
    p5, p50, p95 = np.quantile(totals, [0.05, 0.5, 0.95], method="inverted_cdf")
    return Simulation(
        scenario=scenario,
        exchanges=exchanges,
        totals=totals,
        expected_total_eur=int(np.rint(totals.sum() / runs)),
        p5_eur=int(p5), p50_eur=int(p50), p95_eur=int(p95),
        p_exceed=float((totals > envelope).mean()),
        affordable=_affordable(affordable),
        share_halved=float(counts[:, 1:].sum() / stays),
        share_halved_short=float(counts[:, [1, 3]].sum() / stays),
        share_halved_near=float(counts[:, [2, 3]].sum() / stays),
        by_country=by_country,
        affordable_per_run=affordable,
    )


def _affordable(per_run: np.ndarray) -> int:
    """The largest number of exchanges that fit in the envelope in at least 95% of runs: the
    run-count at position floor(5% of runs) in ascending order (every run from there on fits)."""
    return int(np.sort(per_run)[int(math.floor((1 - CONFIDENCE) * len(per_run)))])


def compare(simulations: list[Simulation]) -> pd.DataFrame:
    """Several simulations side by side, as a planner reads them: one column per scenario."""
    def column(s: Simulation) -> dict:
        scenario = s.scenario
        return {
            "Envelope": euros(scenario.envelope_eur),
            "Exchanges": f"{s.exchanges:,}" + (" (as many as fit)" if scenario.exchanges is None else ""),
            "Ceilings": scenario.ceilings_in_words(),
            "Halved under": scenario.halving_in_words(),
            "Expected total": euros(s.expected_total_eur),
            "90% of runs between": f"{euros(s.p5_eur)} and {euros(s.p95_eur)}",
            "Chance of exceeding the envelope": f"{s.p_exceed:.1%}",
            "Affordable with 95% confidence": f"{s.affordable:,} exchanges",
            "Halved lump sums": f"{s.share_halved:.1%}",
            "Runs, seed": f"{scenario.runs:,}, {scenario.seed}",
        }
    return pd.DataFrame({s.scenario.name: column(s) for s in simulations})


# --- exports ---------------------------------------------------------------------------------


def run_totals(simulations: list[Simulation]) -> pd.DataFrame:
    """Each simulated run's total of one or more scenarios (scenario, total_eur): what the
    distribution chart draws and its summary tells."""
    return pd.DataFrame({"scenario": np.repeat([s.scenario.name for s in simulations], [len(s.totals) for s in simulations]),
                         "total_eur": np.concatenate([s.totals for s in simulations])})


def results_csv(simulation: Simulation) -> bytes:
    """Key figures and the cost by host country as one CSV (figure, value), formulas neutralised."""
    rows = [(figure, value) for figure, value in simulation.key_figures().items()]
    rows += [(f"cost_eur {row.country} ({row.name})", row.cost_eur) for row in simulation.by_country.itertuples()]
    return to_csv_bytes(pd.DataFrame(rows, columns=["figure", "value"]))


def results_excel(simulation: Simulation) -> bytes:
    """An Excel workbook: key figures, cost by host country, the scenario's settings, every run."""
    scenario = simulation.scenario
    settings = {key: value for key, value in dataclasses.asdict(scenario).items()
                if key not in ("host_mix", "working_days", "distances_km", "ceilings_eur")}
    return to_excel_bytes({
        "Key figures": pd.DataFrame(list(simulation.key_figures().items()), columns=["figure", "value"]),
        "By host country": simulation.by_country,
        "Scenario": pd.DataFrame([(k, str(v)) for k, v in settings.items()], columns=["setting", "value"]),
        "Ceilings and mix": scenario.ceiling_table(),
        "Runs": pd.DataFrame({"run": np.arange(1, len(simulation.totals) + 1), "total_eur": simulation.totals}),
    })


# --- a planned list of exchanges ---------------------------------------------------------------


def cost_plan(plan: pd.DataFrame, rulebook: Rulebook | None = None) -> pd.DataFrame:
    """The exact lump sum of each planned exchange, why it is halved, and whether its ceiling is
    published or indicative.

    `plan` has host_country, start, end, and either distance_km or the visitor's and host's
    places (visitor_city, visitor_country, host_city), located with the offline gazetteer. Raises BadPlan naming every bad row
    (rows count from 1, the first line under the header)."""
    rulebook = rulebook or load_rulebook()
    plan = plan.reset_index(drop=True).copy()
    required = {"host_country", "start", "end"}
    if not required <= set(plan.columns):
        raise BadPlan([(0, f"the plan needs the columns {', '.join(sorted(required))} and distance_km "
                           f"or visitor_city, visitor_country and host_city; it has {', '.join(plan.columns)}")])
    plan["host_country"] = plan["host_country"].astype("string").str.strip().str.upper()
    problems: list[tuple[int, str]] = []
    # Lines that name the visitor's country are checked against every rule of the call; the
    # others can only be checked for their host country.
    if "visitor_country" in plan:
        plan["visitor_country"] = plan["visitor_country"].astype("string").str.strip().str.upper()
        with_visitor = plan["visitor_country"].fillna("") != ""
    else:
        with_visitor = pd.Series(False, index=plan.index)
    breaches = rulebook.check_exchanges(plan[with_visitor]) if with_visitor.any() else pd.DataFrame(columns=["row", "message"])
    problems += [(int(row) + 1, message) for row, message in breaches[["row", "message"]].itertuples(index=False)]
    for row, code in plan.loc[~with_visitor, "host_country"].items():
        try:
            rulebook.require_eligible("" if pd.isna(code) else code)
        except CxError as error:  # UnknownCountry / IneligibleCountry, named per row
            problems.append((row + 1, f"host country: {error}"))
    distance = (pd.to_numeric(plan["distance_km"], errors="coerce") if "distance_km" in plan
                else pd.Series(np.nan, index=plan.index))
    placeable = {"visitor_city", "visitor_country", "host_city"} <= set(plan.columns)
    places = gazetteer()
    for row in plan.index[distance.isna()]:
        if not placeable:
            problems.append((row + 1, "give distance_km, or visitor_city, visitor_country and host_city"))
            continue
        try:
            visitor = places.locate(plan.at[row, "visitor_city"], plan.at[row, "visitor_country"])
            host = places.locate(plan.at[row, "host_city"], plan.at[row, "host_country"])
        except UnknownCity as error:
            problems.append((row + 1, str(error)))
            continue
        distance[row] = float(distance_km(*visitor, *host))
    if problems:
        raise BadPlan(sorted(problems))
    plan["distance_km"] = distance.round(1)
    money = rulebook.lump_sums(plan)
    return plan.assign(
        working_days=money["working_days"],
        halved=money["halved"],
        ceiling_eur=money["ceiling_eur"],
        lump_sum_eur=money["lump_sum_eur"],
        halving_reason=rulebook.halving_reasons(money, plan["distance_km"]),
        # Whether the call publishes the host country's ceiling: an indicative one needs confirming.
        ceiling_figure=np.where(rulebook.countries["indicative"].reindex(plan["host_country"]).fillna(True).to_numpy(),
                                "indicative", "published"),
    )


def read_plan(source) -> pd.DataFrame:
    """A planned list of exchanges from a CSV file or upload (text columns kept as text)."""
    return pd.read_csv(source, dtype={"host_country": "string", "visitor_country": "string"},
                       keep_default_na=False, na_values=[""])


# --- saved scenarios ---------------------------------------------------------------------------


def save_scenario(store: Store, scenario: Scenario, replace: bool = False) -> str:
    """Store the scenario under its name; returns its id. A taken name raises BadScenario
    unless `replace`, which keeps the id and replaces the parameters."""
    scenario.validate()
    with store.transaction() as con:
        existing = con.execute("SELECT id FROM scenarios WHERE name = ?", [scenario.name]).fetchall()
        if existing and not replace:
            raise BadScenario(f"a scenario named {scenario.name!r} exists; choose another name or replace it")
        if existing:
            con.execute("UPDATE scenarios SET parameters = CAST(? AS JSON), created_at = current_timestamp WHERE id = ?",
                        [scenario.to_json(), existing[0][0]])
            return existing[0][0]
        identifier = uuid.uuid4().hex[:12]
        con.execute("INSERT INTO scenarios (id, name, parameters) VALUES (?, ?, CAST(? AS JSON))",
                    [identifier, scenario.name, scenario.to_json()])
        return identifier


def list_scenarios(store: Store) -> pd.DataFrame:
    """Saved scenarios, newest first: id, name, created_at."""
    return store.query("SELECT id, name, created_at FROM scenarios ORDER BY created_at DESC, name")


def load_scenario(store: Store, name: str) -> Scenario:
    rows = store.query("SELECT parameters FROM scenarios WHERE name = ?", [name])
    if rows.empty:
        raise BadScenario(f"no saved scenario is named {name!r}")
    return Scenario.from_json(rows["parameters"].iloc[0])


def duplicate_scenario(store: Store, name: str, new_name: str) -> str:
    """A copy of a saved scenario under a new name (to edit without losing the original)."""
    return save_scenario(store, load_scenario(store, name).replace(name=new_name))


def delete_scenario(store: Store, name: str) -> None:
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM scenarios WHERE name = ?", [name]).fetchone()[0]:
            raise BadScenario(f"no saved scenario is named {name!r}")
        con.execute("DELETE FROM scenarios WHERE name = ?", [name])
