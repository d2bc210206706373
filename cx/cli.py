"""The `python -m cx` command line: each command parses its arguments, calls `cx`, and prints.

Every command takes `--db PATH` (default `$CX_DB`, else `data/cx.duckdb`) and `--wait SECONDS`
(how long to wait for a database another cx process is using). A problem prints one sentence on
stderr, never a traceback, and the exit code says which kind it was (EXIT_CODES).
Whoever can run commands on the database file acts as the local officer (`Viewer.local()`),
recorded by their login name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cx.access import ROLES, Viewer, acting_as
from cx.errors import CxError
from cx.formats import euros
from cx.rules import load_rulebook
from cx.store import open_store


EXIT_CODES = """exit codes:
  0  done
  1  rows rejected or a rule broken (import, check, a refused status change)
  2  bad input: a file, option or value cx cannot use (the sentence says which)
  3  busy: the database is in use by another cx process; try again (or raise --wait)"""


def _store(args):
    return open_store(args.db, wait=args.wait)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02") from None


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_init(args) -> int:
    store = _store(args)
    print(f"{store.name}: schema version {store.schema_version()}")
    return 0


def cmd_demo(args) -> int:
    from cx.demo import load_demo

    store = _store(args)
    counts = load_demo(store, seed=args.seed, organisations=args.organisations, exchanges=args.exchanges)
    print(f"{store.name}: demo programme with "
          + ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in counts.items()))
    return 0


def cmd_lump_sum(args) -> int:
    rulebook = load_rulebook()
    host = rulebook.require_eligible(args.host_country)
    result = rulebook.lump_sum(host, args.start, args.end, args.distance_km)
    if args.json:
        _print_json(result.as_dict())
        return 0
    print(f"Stay in {rulebook.country_name(host)} from {args.start} to {args.end}, {args.distance_km:g} km apart")
    holidays = f" ({result.public_holidays} public holiday{'s' * (result.public_holidays != 1)} excluded)" if result.public_holidays else ""
    print(f"Working days: {result.working_days}{holidays}")
    if result.halved:
        print("Halved: yes, because " + " and ".join(result.reasons))
    else:
        print("Halved: no")
    print(f"Lump sum: {euros(result.lump_sum_eur)} (ceiling for {host}: {euros(result.ceiling_eur)})")
    return 0


def cmd_check(args) -> int:
    breaches = load_rulebook().check_exchange(args.visitor_country, args.host_country, args.start, args.end,
                                              visits_taken=args.visits_taken)
    if args.json:
        _print_json([{"rule": b.rule, "message": b.message} for b in breaches])
    elif breaches:
        print(f"The exchange breaks {len(breaches)} rule{'s' * (len(breaches) != 1)}:")
        for breach in breaches:
            print(f"- {breach.message[0].upper()}{breach.message[1:]}.")
    else:
        print("The exchange follows every rule of the call.")
    return 1 if breaches else 0


def _budget_scenario(args, store):
    """The scenario the `budget` options describe: a saved one, or one from the database's
    history (a uniform one when it has none), with the options applied on top."""
    from cx import budget

    rulebook = load_rulebook()
    if args.scenario:
        scenario = budget.load_scenario(store, args.scenario)
    elif args.basis == "history" or (args.basis is None and store.counts()["exchanges"]):
        scenario = budget.scenario_from_history(store, name=args.save or "From history")
    else:
        scenario = budget.uniform_scenario(name=args.save or "Uniform", rulebook=rulebook)
    changes = {"envelope_eur": args.envelope, "runs": args.runs, "seed": args.seed,
               "ceiling_scale": args.ceiling_scale, "halve_under_km": args.halve_under_km,
               "halve_under_working_days": args.halve_under_working_days}
    scenario = scenario.replace(**{key: value for key, value in changes.items() if value is not None})
    if args.exchanges is not None or not args.scenario:
        scenario = scenario.replace(exchanges=args.exchanges)
    if args.save:
        scenario = scenario.replace(name=args.save)
    return scenario


def cmd_budget(args) -> int:
    from cx import budget

    store = _store(args)
    if args.compare:
        results = [budget.simulate(budget.load_scenario(store, name)) for name in args.compare]
        if args.json:
            _print_json([result.key_figures() for result in results])
        else:
            print(budget.compare(results).to_string())
        return 0
    scenario = _budget_scenario(args, store)
    rulebook = scenario.rulebook()
    if args.plan:
        lines = budget.cost_plan(budget.read_plan(args.plan), rulebook)
        if args.json:
            _print_json({"total_eur": int(lines["lump_sum_eur"].sum()),
                         "lines": lines.to_dict(orient="records")})
            return 0
        for number, line in enumerate(lines.itertuples(), start=1):
            why = f" (halved: {line.halving_reason})" if line.halved else ""
            print(f"{number:>4}. {line.host_country} {line.start} to {line.end}, {line.working_days} working days, "
                  f"{line.distance_km:,.0f} km: {euros(line.lump_sum_eur)}{why}")
        total = int(lines["lump_sum_eur"].sum())
        left = scenario.envelope_eur - total
        print(f"Total: {euros(total)} for {len(lines):,} exchanges; envelope {euros(scenario.envelope_eur)} "
              f"({euros(abs(left))} {'left' if left >= 0 else 'over'})")
        return 0
    result = budget.simulate(scenario, rulebook=load_rulebook())
    if args.save:
        budget.save_scenario(store, scenario, replace=True)
    if args.json:
        _print_json(result.as_dict())
        return 0
    count = f"{result.exchanges:,} exchanges" + (" (as many as the envelope allows)" if scenario.exchanges is None else "")
    print(f"Scenario {scenario.name!r}: {scenario.basis}")
    print(f"{count}, envelope {euros(scenario.envelope_eur)}, {scenario.runs:,} runs, seed {scenario.seed}")
    print(f"Ceilings: {scenario.ceilings_in_words()}; halved under {scenario.halving_in_words()}")
    print(f"Expected total: {euros(result.expected_total_eur)} (median {euros(result.p50_eur)}; "
          f"90% of runs between {euros(result.p5_eur)} and {euros(result.p95_eur)})")
    print(f"Chance of exceeding the envelope: {result.p_exceed:.1%}")
    print(f"Exchanges affordable with 95% confidence: {result.affordable:,}")
    print(f"Halved lump sums: {result.share_halved:.1%} (short stays {result.share_halved_short:.1%}, "
          f"near hosts {result.share_halved_near:.1%})")
    print("Expected cost by host country:")
    for row in result.by_country.itertuples():
        print(f"  {row.country} {row.name:<24} {row.exchanges:>8,.1f} exchanges  {euros(row.cost_eur):>13}  "
              f"{row.share_of_cost:>6.1%}")
    if args.save:
        print(f"Saved as {scenario.name!r}.")
    return 0


def cmd_import(args) -> int:
    import pandas as pd

    from cx.io import Limits, import_path

    limits = Limits(max_bytes=int(args.max_mb * 1024 * 1024), max_rows=args.max_rows)
    if args.kind == "evidence":
        from cx.io import import_evidence, read_path_bytes

        done = import_evidence(_store(args), Viewer.local(), read_path_bytes(args.file, limits), Path(args.file).name)
        print(f"{args.file}: {done['restored']:,} evidence files restored, {done['present']:,} already in cx")
        return 0
    report = import_path(_store(args), Viewer.local(), args.kind, args.file, sheet=args.sheet, mode=args.mode,
                         dry_run=args.dry_run, limits=limits, override_ceiling=args.override_ceiling)
    if args.json:
        _print_json(report.as_dict())
    else:
        print(report.summary())
        for finding in report.findings.itertuples(index=False):
            where = "header" if pd.isna(finding.row) else f"row {finding.row}"
            column = f", {finding.column}" if finding.column else ""
            print(f"- {where}{column}: {finding.message} [{finding.rule}, {finding.outcome}]")
    return 1 if report.rejected else 0


def cmd_export(args) -> int:
    from cx.export import write_file
    from cx.io import export_view

    store = _store(args)
    result = export_view(store, Viewer.local(), what=args.what, file_format=args.format,
                         with_contacts=args.with_contacts, statuses=args.status, partnership_id=args.partnership)
    output = write_file(args.output or result["name"], result["data"], force=args.force,
                        keep=store.files())
    print(f"{output}: " + ", ".join(f"{n:,} {kind}" for kind, n in result["counts"].items())
          + (" with contact details" if args.with_contacts else " (contact details left out)"))
    return 0


def cmd_match(args) -> int:
    from cx import matcher_cache
    from cx.matching import HostMatcher, read_hosts
    from cx.visitors import visitor_details

    store = _store(args) if (args.hosts is None or args.visitor) else None
    matcher = HostMatcher().fit(read_hosts(args.hosts)) if args.hosts else matcher_cache.current(store)
    visitor = {"visitor_country": args.visitor_country, "visitor_city": args.visitor_city}
    if args.visitor:
        visitor = visitor_details(store, Viewer.local(), args.visitor)
    result = matcher.suggest(args.objectives, **visitor, sectors=args.sector or (), ecosystems=args.ecosystem,
                             countries=args.country, start=args.start, end=args.end, k=args.top)
    if args.json:
        records = result.drop(columns=["lat", "lon"]).astype(object).where(result.notna(), None)
        _print_json(records.to_dict(orient="records"))
        return 0
    where = ", ".join(str(v) for v in (visitor["visitor_city"], visitor["visitor_country"]) if v)
    print(f"{len(result)} host{'s' * (len(result) != 1)} for {args.objectives!r}"
          + (f" (visitor in {where})" if where else ""))
    for rank, host in enumerate(result.itertuples(), start=1):
        place = ", ".join(str(v) for v in (host.city, host.country) if isinstance(v, str))
        facts = [f"score {host.score:.2f}"]
        if not np.isnan(host.distance_km):
            facts.append(f"{host.distance_km:,.0f} km")
        if not pd.isna(host.lump_sum_eur):
            facts.append(euros(host.lump_sum_eur) + (f" (halved: {host.halving_reason})" if host.halved else ""))
        print(f"{rank:>2}. {host.name} ({place}) · {' · '.join(facts)}")
        print(f"    because: {', '.join(host.reasons) or 'similar wording'}")
    return 0


def cmd_serve(args) -> int:
    """Start the app, refusing an address reachable from elsewhere unless logins are configured."""
    from cx import PROJECT_ROOT
    from cx.ui.login import check_served_address

    check_served_address(args.address)
    if args.db:
        os.environ["CX_DB"] = str(args.db)
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
                              "--server.address", args.address, "--server.port", str(args.port)])


def cmd_copy(args) -> int:
    from cx.store import copy_programme

    source, target = open_store(getattr(args, "from"), wait=args.wait), open_store(args.to, wait=args.wait)
    copied = copy_programme(source, target)
    print(f"{target.name}: copied from {source.name}: " + ", ".join(f"{n:,} {table}" for table, n in copied.items()))
    return 0


def cmd_accounts(args) -> int:
    from cx.accounts import add_account, list_accounts, remove_account

    if args.action != "list" and not args.login:
        raise CxError(f"say whose account to {args.action}: python -m cx accounts {args.action} EMAIL")
    if args.action == "add" and not args.role:
        raise CxError(f"say what {args.login} may do: --role {' | '.join(ROLES)}")
    store, officer = open_store(args.db), Viewer.local()
    if args.action == "add":
        account = add_account(store, officer, args.login, args.role, partnerships=args.partnership or (),
                              organisation_id=args.organisation)
        print(f"{account.identity}: {account.describe()}")
    elif args.action == "remove":
        remove_account(store, officer, args.login)
        print(f"{args.login}: removed")
    else:
        accounts = list_accounts(store, officer)
        if accounts.empty:
            print("No accounts yet: add one with python -m cx accounts add EMAIL --role officer")
        for account in accounts.itertuples():
            scope = ", ".join(account.partnerships) or account.organisation_id or ""
            print(f"{account.login:<40} {account.role:<20} {scope:<20} {'active' if account.active else 'inactive'}")
    return 0


def cmd_send_mail(args) -> int:
    from cx import mail, outbox

    store = _store(args)
    if args.retry_failed:
        print(f"{outbox.retry_failed(store, Viewer.local())} failed messages put back in line")
    settings = mail.settings_from_file(args.config)
    if settings is None:
        where = args.config or " or ".join(str(p) for p in mail.secrets_files())
        waiting = len(outbox.messages(store, Viewer.local(), [outbox.PENDING]))
        raise CxError(f"{where} has no [smtp] section: the {waiting} messages in the outbox wait until one is "
                      "configured (see the README, 'Notifications')")
    done = mail.send_pending(store, settings)
    print(done.summary())
    return 1 if done.retrying or done.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cx", description=__doc__.splitlines()[0], epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="DuckDB file or postgresql:// URL (default: $CX_DB, else data/cx.duckdb)")
    common.add_argument("--wait", type=float, metavar="SECONDS", help="how long to wait for a database another "
                        "cx process is using before giving up with exit code 3 (default: $CX_BUSY_SECONDS, else 10)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, function, summary, example):
        sub = commands.add_parser(name, parents=[common], help=summary, description=f"{summary}\n\nExample: {example}",
                                  epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(run=function)
        return sub

    command("init", cmd_init, "Create the database or bring its schema up to date.", "python -m cx init")

    demo = command("demo", cmd_demo, "Replace the database's data with a seeded demo programme.",
                   "python -m cx demo --seed 7 --organisations 2000 --exchanges 1500")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--organisations", type=int, default=2000)
    demo.add_argument("--exchanges", type=int, default=1500)

    lump = command("lump-sum", cmd_lump_sum, "The working days and lump sum of one stay, and why it is halved.",
                   "python -m cx lump-sum --host-country PT --start 2026-03-02 --end 2026-03-06 --distance-km 850")
    lump.add_argument("--host-country", required=True)
    lump.add_argument("--start", type=_date, required=True, help="first day at the host")
    lump.add_argument("--end", type=_date, required=True, help="last day at the host")
    lump.add_argument("--distance-km", type=float, required=True, help="distance between the two organisations")
    lump.add_argument("--json", action="store_true")

    check = command("check", cmd_check, "Every rule a planned exchange breaks (exit 1 when it breaks any).",
                    "python -m cx check --visitor-country DE --host-country DE --start 2026-03-06 --end 2026-03-02")
    check.add_argument("--visitor-country", required=True)
    check.add_argument("--host-country", required=True)
    check.add_argument("--start", type=_date, required=True)
    check.add_argument("--end", type=_date, required=True)
    check.add_argument("--visits-taken", type=int, default=0,
                       help="the visitor's approved or completed exchanges so far")
    check.add_argument("--json", action="store_true")

    budget = command("budget", cmd_budget,
                     "Simulate what a number of exchanges costs against an envelope, or cost a planned list.",
                     "python -m cx budget --envelope 600000 --exchanges 600 --runs 10000 --ceiling-scale 1.1 "
                     "--halve-under-km 300")
    budget.add_argument("--envelope", dest="envelope", type=int, help="budget envelope in euros (default: the call's)")
    budget.add_argument("--exchanges", type=int,
                        help="exchanges to cost (default: as many as the envelope allows with 95%% confidence)")
    budget.add_argument("--runs", type=int, help="Monte Carlo runs (default 10000)")
    budget.add_argument("--seed", type=int, help="random seed (default 1): the same seed gives the same result")
    budget.add_argument("--ceiling-scale", type=float, help="multiply every ceiling, e.g. 1.1 for +10%%")
    budget.add_argument("--halve-under-km", type=float, help="halve when the organisations are closer (default 200)")
    budget.add_argument("--halve-under-working-days", type=int,
                        help="halve when the stay has fewer working days (default 5)")
    budget.add_argument("--basis", choices=["history", "uniform"],
                        help="learn the mix, working days and distances from the database's exchanges, or use "
                             "a uniform mix (default: history when the database has exchanges)")
    budget.add_argument("--scenario", help="start from the saved scenario of this name")
    budget.add_argument("--save", metavar="NAME", help="save the scenario under this name (replacing one of that name)")
    budget.add_argument("--plan", metavar="CSV", help="cost a planned list of exchanges line by line instead "
                        "(host_country, start, end, and distance_km or visitor_city, visitor_country, host_city)")
    budget.add_argument("--compare", nargs="+", metavar="NAME",
                        help="simulate saved scenarios and print their key figures side by side")
    budget.add_argument("--json", action="store_true")

    match = command("match", cmd_match, "The eligible hosts worth writing to for a visitor's objectives, best first.",
                    'python -m cx match "adopt digital twins in our injection-moulding plant" '
                    "--visitor-country DE --visitor-city Stuttgart --top 5")
    match.add_argument("objectives", help="what the visitor wants to learn or do, in their own words")
    match.add_argument("--visitor-country", help="the visitor's country (ISO-2); no host there is suggested")
    match.add_argument("--visitor-city", help="the visitor's city, for distances and lump sums")
    match.add_argument("--visitor", help="a registered visitor's id: country, place and visits come from the database")
    match.add_argument("--start", type=_date, help="first day at the host (with --end: working days, lump sum)")
    match.add_argument("--end", type=_date, help="last day at the host")
    match.add_argument("--sector", action="append", help="a sector of the cluster platform's taxonomy "
                       "(data/taxonomy/), matched with the objectives (repeatable)")
    match.add_argument("--ecosystem", action="append", help="only hosts in this ecosystem (repeatable)")
    match.add_argument("--country", action="append", help="only hosts in this country (repeatable)")
    match.add_argument("--top", type=int, default=10, help="how many hosts (default 10)")
    match.add_argument("--hosts", help="a CSV of hosts (id, name, country, description, ...) instead of the database")
    match.add_argument("--json", action="store_true")

    load = command("import", cmd_import, "Check a CSV, Excel or Parquet file row by row and upsert its valid rows "
                   "(exit 1 when rows were rejected).", "python -m cx import organisations data/templates/"
                   "organisations.csv --dry-run")
    load.add_argument("kind", choices=["partnerships", "organisations", "missions", "exchanges", "evidence"],
                      help="evidence: the evidence files of a whole export (a CSV or Parquet .zip), after its exchanges")
    load.add_argument("file", help=".csv (comma or semicolon, UTF-8 or Windows-1252), .xlsx or .parquet; "
                      "for evidence the export's .zip")
    load.add_argument("--sheet", help="the Excel sheet (default: the first)")
    load.add_argument("--mode", choices=["all", "valid"], default="all",
                      help="all: import nothing unless every row passes (default); valid: import the valid rows")
    load.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    load.add_argument("--max-mb", type=float, default=50, help="refuse larger files (default 50)")
    load.add_argument("--max-rows", type=int, default=200_000, help="refuse files with more rows (default 200,000)")
    load.add_argument("--override-ceiling", metavar="REASON", help="keep lump sums above the host country's "
                      "ceiling (officers only), recording REASON in each exchange's history")
    load.add_argument("--json", action="store_true", help="the report as JSON, every finding included")

    export = command("export", cmd_export, "Write the database, or a filtered view of its exchanges, as CSV, "
                     "Excel or Parquet (contact details only with --with-contacts).",
                     "python -m cx export exchanges --status paid --format xlsx --output paid.xlsx")
    export.add_argument("what", nargs="?", default="all", choices=["all", "partnerships", "organisations", "missions", "exchanges"])
    export.add_argument("--format", choices=["csv", "xlsx", "parquet"], default="csv")
    export.add_argument("--output", help="the file to write (default: a name like exchanges.csv, or a .zip "
                        "of CSV or Parquet files for all)")
    export.add_argument("--force", action="store_true", help="replace the --output file if it exists "
                        "(never the database)")
    export.add_argument("--with-contacts", action="store_true", help="include contact names and e-mails")
    export.add_argument("--status", action="append", help="only exchanges in this status (repeatable)")
    export.add_argument("--partnership", help="only exchanges whose visitor registered through this partnership")

    serve = command("serve", cmd_serve, "Start the app; beyond 127.0.0.1 only with logins configured "
                    "(.streamlit/secrets.toml [auth]).", "python -m cx serve --port 8501")
    serve.add_argument("--address", default="127.0.0.1",
                       help="the address to serve (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8501)

    copy = command("copy", cmd_copy, "Copy a programme from one database to another, empty one (DuckDB file or "
                   "PostgreSQL), in one transaction, with every table's count checked.",
                   "python -m cx copy --from data/cx.duckdb --to postgresql://cx@db.example.org/cx")
    copy.add_argument("--from", required=True, metavar="DATABASE", help="a DuckDB file or a postgresql:// URL")
    copy.add_argument("--to", required=True, metavar="DATABASE", help="a new DuckDB file or an empty PostgreSQL "
                      "database (the schema is created)")

    accounts = command("accounts", cmd_accounts, "Add, list or remove the accounts that may log in, with their "
                       "role and scope.", "python -m cx accounts add anna@example.org --role partnership_manager "
                       "--partnership P01")
    accounts.add_argument("action", choices=["add", "list", "remove"])
    accounts.add_argument("login", nargs="?", help="the e-mail address (or the identity provider's subject id)")
    accounts.add_argument("--role", choices=ROLES, help="what the account may see and do (see the README)")
    accounts.add_argument("--partnership", action="append", help="a partnership manager's partnership (repeatable)")
    accounts.add_argument("--organisation", help="an organisation account's organisation id")

    send = command("send-mail", cmd_send_mail, "Send the outbox's due messages through the [smtp] server "
                   "(exit 1 when some could not be sent: they stay and are retried later).",
                   "python -m cx send-mail --config .streamlit/secrets.toml")
    send.add_argument("--config", help="the secrets file with the [smtp] section (default: the project's "
                      ".streamlit/secrets.toml, else ~/.streamlit/secrets.toml)")
    send.add_argument("--retry-failed", action="store_true", help="first put the messages cx gave up on back in line")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with acting_as(Viewer.local()):  # the person at this machine: a local officer
            return args.run(args)
    except CxError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error of ours
        sys.stdout = open(os.devnull, "w")
        return 0
