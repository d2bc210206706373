"""Data: import registrations and exchanges with a report of every rejected row, export the
database or a filtered view, and the documented templates."""

from pathlib import Path

import streamlit as st

from cx import charts, summaries, uptake
from cx import io as cio
from cx.errors import CxError, DatabaseBusy, ReadOnlyDatabase
from cx.export import to_csv_bytes
from cx.missions import mission_rows
from cx.store import STATUSES, TEXT_LIMITS, Store
from cx.ui import cached, current_store, plain
from cx.ui.login import current_viewer
from cx.ui.widgets import figure

REPORT = "data_import_report"  # the last import's report, kept across reruns (downloads rerun the page)
FORMATS = {"csv": "CSV (.csv, a .zip for several tables)", "xlsx": "Excel (.xlsx)",
           "parquet": "Parquet (.parquet, a .zip for several tables)"}

store = current_store()
viewer = current_viewer(store)
limits = cio.Limits()
st.title("Data")
importing, exporting, templates = st.tabs(["Import", "Export", "Templates"])

with importing:
    st.caption(f"CSV (comma or semicolon; UTF-8 or Windows-1252), Excel or Parquet, up to "
               f"{limits.max_bytes // 2**20} MB and {limits.max_rows:,} rows. Import partnerships first, "
               "then organisations, then exchanges; rows are matched on their id.")
    if not viewer.is_officer:
        st.caption(f"You import organisations and exchanges of {', '.join(viewer.partnerships)} only; "
                   "a row of another partnership is rejected with its row number.")
    kinds = cio.KINDS if viewer.is_officer else [k for k in cio.KINDS if k != "partnerships"]
    kind = st.selectbox("The file holds", kinds, format_func=str.capitalize, key="import_kind")
    upload = st.file_uploader("File", type=["csv", "txt", "xlsx", "xlsm", "parquet"], key="import_file")
    if upload is None:
        st.info("Choose a file to check. The Templates tab has one per kind of record, every column explained.")
    else:
        data = upload.getvalue()
        sheet = None
        try:
            if cio.file_format(upload.name) == "Excel":
                sheet = st.selectbox("Sheet", cio.sheet_names(data, upload.name), key="import_sheet")
        except CxError as error:
            st.error(plain(error))
            st.stop()
        override = None
        if kind == "exchanges" and cio.CeilingOverride.allowed(viewer):
            override = st.text_input(
                "Keep lump sums above the host country's ceiling, because (officers; leave empty to refuse them)",
                key="import_override_ceiling", max_chars=TEXT_LIMITS["reason"]).strip() or None
        mode = st.radio("When some rows are rejected", list(cio.MODES), format_func=lambda m: cio.MODES[m].capitalize(),
                        key="import_mode", horizontal=True)
        check, go = st.columns(2)
        dry_run = check.button("Check only (write nothing)", key="import_check", width="stretch")
        write = go.button("Import", type="primary", key="import_go", width="stretch")
        if dry_run or write:
            bar = st.progress(0.0, text="Reading the file")
            try:
                st.session_state[REPORT] = cio.import_file(
                    store, viewer, kind, data, upload.name, sheet=sheet, mode=mode, dry_run=dry_run, limits=limits,
                    override_ceiling=override, progress=lambda fraction, text: bar.progress(fraction, text=text))
            except (ReadOnlyDatabase, DatabaseBusy) as error:  # the file was fine; the database was not
                st.session_state.pop(REPORT, None)
                st.error(plain(f"Nothing was imported: {error}."))
            except CxError as error:
                st.session_state.pop(REPORT, None)
                st.error(plain(f"The file was not read: {error}"))
            bar.empty()

    report = st.session_state.get(REPORT)
    if report is not None:
        passing = report.added + report.updated
        # Red only when rows that could be written were not (all or nothing) or every row was rejected;
        # unchanged rows are information.
        refused = not report.dry_run and not report.written and (
            (report.mode == "all" and passing) or report.rejected == report.rows)
        show = (st.info if report.dry_run or not (report.written or report.rejected) else
                st.success if not report.rejected else st.error if refused else st.warning)
        show(plain(report.summary()))
        if report.details.get("renamed"):
            st.info(plain("Stored under the names cx uses (the file's are other names of the same ecosystem or "
                          "kind): " + "; ".join(f"{pair} ({count:,} row{'s' * (count != 1)})"
                                               for pair, count in report.details["renamed"].items()) + "."))
        written = report.written or report.dry_run
        unwritten = None if written else f"{passing:,} row{'s' * (passing != 1)} passed; nothing was written"
        tiles = [("Would add" if report.dry_run else "Added", report.added if written else 0, unwritten),
                 ("Would update" if report.dry_run else "Updated", report.updated if written else 0, unwritten),
                 ("Unchanged", report.unchanged, None), ("Rejected", report.rejected, None),
                 ("Flagged", report.flagged, None)]
        for column, (label, value, help) in zip(st.columns(5), tiles):
            column.metric(label, f"{value:,}", help=help)
        if len(report.findings):
            figure(report.findings, charts.findings_by_rule, "", "import_findings_chart",
                   describe=summaries.findings_by_rule, numbers={})  # the rows follow, with their download
            st.dataframe(report.findings, hide_index=True, key="import_findings")
            st.download_button("Download the report (CSV)", lambda: to_csv_bytes(report.findings),
                               file_name=f"{Path(report.file).stem}-report.csv", mime="text/csv",
                               key="import_report_download")

    if viewer.is_officer:  # a restore: the archive's evidence files come back after its tables
        with st.expander("Restore the evidence files of a whole export (.zip)"):
            st.caption("Import the archive's tables first (partnerships, organisations, missions, exchanges); each "
                       "evidence file is checked against its hash, type and size before any is kept.")
            archive = st.file_uploader("Whole export", type=["zip"], key="evidence_archive")
            if archive is not None and st.button("Restore the evidence files", key="evidence_restore"):
                try:
                    done = cio.import_evidence(store, viewer, archive.getvalue(), archive.name)
                except CxError as error:
                    st.error(plain(f"Nothing was restored: {error}"))
                else:
                    st.success(f"{done['restored']:,} evidence files restored, {done['present']:,} already in cx.")


@st.fragment
def export() -> None:
    """Choose what to export; the file is written only when the button is clicked, and choosing
    reruns only this part of the page."""
    counts = store.counts()
    if not (counts["organisations"] or counts["partnerships"]):
        st.info("Nothing to export yet: the database is empty.")
        return
    scope = st.radio("Export", ["all", "filtered"], horizontal=True, key="export_scope",
                     format_func={"all": "The whole database" if viewer.is_officer else "Everything of your partnership",
                                  "filtered": "A filtered view of the exchanges"}.get)
    filters = {}
    if scope == "filtered":
        partnerships = cached(Store.partnerships, store, None)
        if not viewer.is_officer:
            partnerships = partnerships[partnerships["id"].isin(viewer.partnerships)]
        left, middle, right = st.columns(3)
        filters["statuses"] = left.multiselect("Statuses", STATUSES, key="export_statuses")
        filters["partnership_id"] = middle.selectbox(
            "Visitor's partnership", [None, *partnerships["id"]], key="export_partnership",
            format_func=lambda p: "All" if p is None else f"{p} · {partnerships.set_index('id').at[p, 'name']}")
        filters["host_country"] = right.multiselect("Host countries", cached(uptake.filter_options, store, None)["countries"],
                                                    key="export_host_country")
    file_format = st.selectbox("Format", list(FORMATS), format_func=FORMATS.get, key="export_format")
    with_contacts = st.checkbox("Include contact names and e-mails (personal data)", key="export_contacts",
                                disabled=scope == "filtered")
    if any(filters.values()):
        counts = {"exchanges": len(cached(cio.exchange_ids, store, viewer, **filters))}
    elif viewer.is_officer:
        counts = {kind: counts[kind] for kind in cio.KINDS}
    else:  # what the viewer may see of the programme
        counts = {"partnerships": counts["partnerships"],
                  "organisations": len(cached(Store.organisations, store, viewer)),
                  "missions": len(cached(mission_rows, store, viewer)),
                  "exchanges": len(cached(Store.exchanges, store, viewer))}
    name = cio.export_name(list(counts), file_format)
    st.caption(", ".join(f"{n:,} {kind}" for kind, n in counts.items())
               + (". Cells starting with =, +, - or @ get an apostrophe so spreadsheets never run them."
                  if file_format != "parquet" else "."))
    refusal = file_format == "xlsx" and cached(cio.excel_refusal_of_view, store, viewer, with_contacts=with_contacts,
                                               **filters)
    if refusal:
        st.warning(plain(f"Excel would cut a value: {refusal}."))
    st.download_button(f"Download {name}", lambda: cio.export_view(
        store, viewer, file_format=file_format, with_contacts=with_contacts, **filters)["data"],
        file_name=name, key="export_download", type="primary", on_click="ignore", disabled=bool(refusal))


with exporting:
    export()

with templates:
    st.markdown("One template per kind of record, with example rows that import cleanly in order.")
    for column, kind in zip(st.columns(len(cio.KINDS)), cio.KINDS):
        column.download_button(f"{kind}.csv", cio.template_path(kind).read_bytes(), file_name=f"{kind}.csv",
                               mime="text/csv", key=f"template_{kind}", width="stretch")
    st.markdown(cio.templates_introduction())
    for kind in cio.KINDS:  # tables, not Markdown: a table scrolls within a phone's width
        st.subheader(f"{kind}.csv")
        st.table(cio.template_columns(kind), hide_index=True)
