"""Named errors for bad input. The command line and the pages turn each into a sentence;
nobody sees a traceback for a mistake in their data."""


class CxError(Exception):
    """Base of every error cx reports to a person. `exit_code` is what the command line exits
    with: 2 for bad input unless a subclass says otherwise."""

    exit_code = 2


class DatabaseBusy(CxError):
    """Another cx process (or session) held the database longer than cx was told to wait."""

    exit_code = 3

    def __init__(self, path, waited):
        self.path, self.waited = path, waited
        super().__init__(f"the database is in use by another cx process; try again "
                         f"(waited {waited:g} s for {path.name}; wait longer with --wait or CX_BUSY_SECONDS)")


class ReadOnlyDatabase(CxError):
    """A write to a database file cx may only read."""

    def __init__(self, path):
        self.path = path
        super().__init__(f"the database {path.name} is read-only: cx can show and export it but not change it "
                         "(ask for write access or work on a copy)")


class DamagedDatabase(CxError):
    """A database file that is not a readable cx database: truncated, or another kind of file."""

    def __init__(self, path, problem):
        self.path, self.problem = path, problem
        super().__init__(f"the database file {path} is damaged or not a cx database ({problem}); restore it from "
                         "a backup, or move it away and run `python -m cx init` (or `python -m cx demo`) "
                         "to start a new one")


class UnknownCountry(CxError):
    """A country code that is not an ISO 3166 alpha-2 code of the rulebook."""

    def __init__(self, code):
        self.code = code
        super().__init__(f"{code!r} is not a country code cx knows (use ISO-2 codes such as DE, PT, XK)")


class IneligibleCountry(CxError):
    """A real country that does not take part in this call."""

    def __init__(self, code, call):
        self.code = code
        super().__init__(f"{code} does not take part in the call {call!r}")


class UnknownCity(CxError):
    """A city the offline gazetteer cannot place in the given country."""

    def __init__(self, city, country, suggestions=()):
        self.city, self.country, self.suggestions = city, country, list(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(
            f"cannot place the city {city!r} in {country}{hint} "
            "(give the organisation's lat/lon for places under 15,000 inhabitants)"
        )


class BadRules(CxError):
    """A rules file (data/rules/) that is missing or incomplete: nothing can be checked without it."""

    def __init__(self, path, problem):
        self.path, self.problem = path, problem
        super().__init__(f"the rules file {path} {problem}; correct it, or restore the project's rules "
                         "(git checkout -- data/rules)")


class InvalidTransition(CxError):
    """An exchange status change that the workflow does not allow."""

    exit_code = 1


class BrokenRules(CxError):
    """An exchange that breaks one or more rules of the call; carries every broken rule."""

    exit_code = 1

    def __init__(self, breaches):
        self.breaches = list(breaches)
        super().__init__("; ".join(b.message for b in self.breaches))


class BadScenario(CxError):
    """A budget scenario that cannot be simulated; the message says what to change."""


class SharesDoNotSum(BadScenario):
    """Shares (of host countries or of working days) that do not add up to 100%; they can be
    normalised, which keeps their proportions."""

    def __init__(self, what, total):
        self.what, self.total = what, total
        super().__init__(f"the {what} shares add up to {total:.1%}, not 100%; "
                         "normalise them to keep their proportions (--normalise, or the button on the page)")


class BadAllocation(CxError):
    """A partnership's allocation cx cannot take: an unknown partnership, or not whole euros of 0 or more."""


class BadPlan(CxError):
    """A planned list of exchanges with rows that cannot be costed; names every such row."""

    def __init__(self, problems):
        self.problems = list(problems)  # (row number from 1, message)
        super().__init__("; ".join(f"row {row}: {message}" for row, message in self.problems))


class EmptyObjectives(CxError):
    """Objectives with no words to match a host on: nothing written, only common words ("the", "and"),
    or only the platform's field names ("Sectoral Industries:")."""

    def __init__(self, objectives="", holds=""):
        self.objectives, self.holds = objectives, holds
        what = {"common words": f"the objectives {objectives!r} hold only common words",
                "field names": f"the objectives {objectives!r} hold only the platform's field names, "
                               "with no sectors after them"}.get(holds, "the objectives are empty")
        super().__init__("describe in a few words what the visitor wants to learn or do at the host "
                         f"(for example 'adopt digital twins in injection moulding'); {what}")


class TooGeneralObjectives(CxError):
    """Objectives whose words say nothing about a field, technology or market ("learn new things")."""

    def __init__(self, objectives):
        self.objectives = objectives
        super().__init__(f"the objectives {objectives!r} are too general to rank hosts by; name the field, "
                         "technology or market you are after (for example 'food processing' or 'hydrogen "
                         "storage'), or pick sectors")


class UnclearObjectives(CxError):
    """Objectives that resemble no host profile closely enough to rank hosts by them."""

    def __init__(self, objectives, best_score, min_score):
        self.objectives, self.best_score, self.min_score = objectives, best_score, min_score
        super().__init__(f"no host profile resembles {objectives!r} (best score {best_score:.2f}, "
                         f"at least {min_score:.2f} needed); name the field, technology or market you are "
                         "after, pick sectors, or write the objectives in English, the language most "
                         "profiles are written in")


class NoEligibleHost(CxError):
    """No organisation may host this visitor under the rules and the chosen filters."""


class VisitedAlready(CxError):
    """A visitor whose one visit in the scheme is already taken: there is no host to suggest."""

    def __init__(self, visits_taken, visits_allowed):
        self.visits_taken, self.visits_allowed = visits_taken, visits_allowed
        super().__init__(
            f"the visitor already has {visits_taken} approved or completed exchange"
            f"{'s' if visits_taken != 1 else ''} and a visitor may visit "
            f"{'once' if visits_allowed == 1 else f'{visits_allowed} times'} in the scheme, "
            "so there is no host to suggest")


class UnreadableFile(CxError):
    """A file cx cannot read as a table: wrong format, unknown encoding, a broken line, no sheet."""


class FileTooLarge(CxError):
    """A file above the import limits (size or rows), refused before it is read whole."""
