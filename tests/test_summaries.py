"""Each chart's facts in a sentence (cx.summaries), checked against small tables worked by hand."""

import ast

import pandas as pd

from cx import PROJECT_ROOT, formats, summaries


def test_formats_write_figures_one_way():
    assert formats.count(1234567) == "1,234,567"
    assert formats.euros(1100.7) == "EUR 1,100"
    assert formats.euros_short(1_320_000) == "EUR 1.32M" and formats.euros_short(269_400) == "EUR 269k"
    assert formats.share(0.126) == "13%"
    assert formats.plural(1, "exchange") == "1 exchange" and formats.plural(2300, "exchange") == "2,300 exchanges"
    assert formats.plural(2, "country", "countries") == "2 countries"


def amounts_written_inline(source: str) -> list[int]:
    """The lines of `source` with an f-string writing an amount itself ("EUR " then a {value})."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.JoinedStr)
            for part, after in zip(node.values, node.values[1:])
            if isinstance(part, ast.Constant) and str(part.value).endswith("EUR ")
            and isinstance(after, ast.FormattedValue)]


def test_amounts_are_written_by_cx_formats_alone():
    assert amounts_written_inline('f"paid EUR {amount:,} on {day}"') == [1]  # the check finds one
    assert amounts_written_inline('f"paid {euros(amount)} (EUR)"') == []
    stray = {str(path.relative_to(PROJECT_ROOT)): lines
             for folder in ("cx", "app_pages") for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
             if path.name != "formats.py" and (lines := amounts_written_inline(path.read_text()))}
    assert stray == {}, f"write amounts with cx.formats.euros: {stray}"


def test_statuses_are_told_in_the_order_of_the_workflow_leaving_out_the_empty_ones():
    table = pd.DataFrame({"status": ["paid", "requested", "rejected"], "exchanges": [3, 1200, 0]})
    assert summaries.exchanges_by_status(table) == "1,203 exchanges: 1,200 requested, 3 paid."


def test_money_is_told_at_the_last_month_against_the_envelope():
    table = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01"]),
                          "committed_eur": [1000, 250_000], "paid_eur": [0, 12_500]})
    assert (summaries.money_over_time(table, 1_000_000)
            == "By Feb 2026, EUR 250,000 committed (25% of the EUR 1,000,000 envelope) and EUR 12,500 paid.")


def test_organisations_add_up_over_kinds():
    table = pd.DataFrame({"country": ["DE", "DE", "FR", "IT", "MT"], "kind": ["SME", "other", "SME", "SME", "SME"],
                          "organisations": [30, 15, 40, 38, 1]})
    assert (summaries.organisations_by_country(table)
            == "124 organisations in 4 countries; the most in DE (45), FR (40) and IT (38).")


def test_the_funnel_counts_from_the_requests():
    table = pd.DataFrame({"stage": ["requested", "approved", "paid"], "reached": [300, 200, 50], "now": [100, 150, 50]})
    assert summaries.pipeline_funnel(table) == "Of 300 exchanges requested, 200 approved, 50 paid."


def test_monthly_progress_names_the_busiest_month():
    table = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
                          "exchanges": [4, 9, 2], "cumulative_completed": [1, 5, 8]})
    assert (summaries.monthly_progress(table, 600) == "8 exchanges completed to Mar 2026 against the target of 600; "
            "the busiest month was Feb 2026 with 9 exchanges starting.")


def test_partnerships_name_the_one_furthest_behind():
    table = pd.DataFrame({"partnership": ["Alpha", "Beta", "Gamma"], "target_exchanges": [10, 10, 10],
                          "completed": [12, 2, 6], "share_of_target": [1.2, 0.2, 0.6]})
    assert (summaries.partnership_progress(table)
            == "1 of 3 partnerships at their target; furthest behind: Beta (2 of 10 completed).")


def test_country_flows_name_the_busiest_route():
    table = pd.DataFrame({"visitor_country": ["DE", "DE", "FR"], "host_country": ["FR", "IT", "IT"],
                          "exchanges": [5, 7, 1]})
    assert (summaries.country_flows(table) == "13 exchanges from 2 visitor countries to 2 host countries; "
            "the busiest route is DE to IT (7).")


def test_ecosystem_pairings_within_one_ecosystem_are_the_diagonal():
    table = pd.DataFrame({"visitor_ecosystem": ["Health", "Health", "Digital"],
                          "host_ecosystem": ["Health", "Digital", "Digital"], "exchanges": [6, 2, 3]})
    assert (summaries.ecosystem_heatmap(table) == "9 of 11 ecosystem pairings stay within one ecosystem; the most "
            "frequent pairing is a visitor in Health with a host in Health (6).")


def test_the_histogram_counts_the_halved_stays():
    table = pd.DataFrame({"working_days": [3, 4, 5, 10], "exchanges": [2, 5, 9, 4]})
    assert (summaries.threshold_histogram(table, "working_days", 5, "working days")
            == "7 of 20 exchanges (35%) are under 5 working days, so their lump sums are halved; "
               "the most common is 5 working days.")


def test_costs_by_country_in_euros():
    table = pd.DataFrame({"country": ["DE", "FR"], "name": ["Germany", "France"], "cost_eur": [120_000, 80_500],
                          "exchanges": [60, 40]})
    assert (summaries.cost_by_host_country(table)
            == "EUR 200,500 expected over 2 host countries; the most in Germany (EUR 120,000) and France (EUR 80,500).")


def test_host_suggestions_give_the_range_of_distances():
    table = pd.DataFrame({"country": ["DE", "FR", "DE"], "distance_km": [120.4, 1900.0, None]})
    assert summaries.host_suggestions(table) == "3 hosts in 2 countries, 120 to 1,900 km from the visitor; each is listed below."


def test_the_map_names_the_busiest_countries():
    flows = pd.DataFrame({"exchanges": [3, 1]})
    countries = pd.DataFrame({"country": ["DE", "FR", "PT"], "sent": [4, 0, 0], "hosted": [0, 3, 1]})
    assert (summaries.exchange_map(flows, countries) == "4 exchanges between 2 pairs of cities. "
            "Hosting the most: FR (3) and PT (1); sending the most: DE (4).")


def test_import_findings_count_rows_not_findings():
    findings = pd.DataFrame({"row": [2, 2, 3, 5], "rule": ["unknown city", "dates", "dates", "dates"],
                             "outcome": ["rejected", "rejected", "rejected", "flagged"]})
    assert (summaries.findings_by_rule(findings)
            == "2 rows rejected and 1 flagged; the rules broken most often: dates (3) and unknown city (1).")
