"""The `python -m cx` command line: each command parses its arguments, calls `cx`, and prints.

Every command takes `--db PATH` (default `$CX_DB`, else `data/cx.duckdb`). Bad input prints one
sentence on stderr and exits 2; a broken rule found by `check` exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from cx.errors import CxError
from cx.rules import load_rulebook
from cx.store import open_store


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02") from None


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_init(args) -> int:
    store = open_store(args.db)
    print(f"{store.path}: schema version {store.schema_version()}")
    return 0


def cmd_demo(args) -> int:
    from cx.demo import load_demo

    store = open_store(args.db)
    counts = load_demo(store, seed=args.seed, organisations=args.organisations, exchanges=args.exchanges)
    print(f"{store.path}: demo programme with " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
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
    print(f"Lump sum: EUR {result.lump_sum_eur:,} (ceiling for {host}: EUR {result.ceiling_eur:,})")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cx", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="DuckDB file (default: $CX_DB, else data/cx.duckdb)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, function, summary, example):
        sub = commands.add_parser(name, parents=[common], help=summary, description=f"{summary}\n\nExample: {example}",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
