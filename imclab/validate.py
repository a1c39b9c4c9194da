"""``imclab validate``: check a user's data folder and campaign plan without running a notebook.

Per table: rows read, accepted and quarantined (with the reasons), missing or unexpected
columns (with a "did you mean" suggestion) and the date range. Exit codes: 2 for errors
(missing files or columns, unreadable files, an invalid plan), 1 when rows were quarantined
(0 with ``allow_quarantine``), 0 when everything is clean.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from imclab.config import closest_match_hint
from imclab.data.mapping import _hint, _plan_table, apply_mapping, source_file, table_header
from imclab.data.schemas import OPTIONAL_TABLES, REQUIRED_TABLES, SCHEMAS, TABLES
from imclab.data.sniff import format_advice
from imclab.errors import DataError, ImclabError, PlanError
from imclab.plan import PlanValidationError

__all__ = ["EXIT_CLEAN", "EXIT_ERRORS", "EXIT_QUARANTINE", "ValidationResult", "validate_data"]

EXIT_CLEAN = 0
EXIT_QUARANTINE = 1
EXIT_ERRORS = 2

TABLE_COLUMNS = [
    "table",
    "file",
    "status",
    "rows_read",
    "rows_accepted",
    "rows_quarantined",
    "date_min",
    "date_max",
    "missing_columns",
    "unexpected_columns",
]


@dataclass
class ValidationResult:
    """Outcome of :func:`validate_data`.

    Attributes
    ----------
    data_dir
        The folder checked.
    plan_file
        The plan checked, or None.
    tables
        One row per table (:data:`TABLE_COLUMNS`); ``status`` is ``ok``, ``quarantined``,
        ``error``, ``absent`` (optional table without a file) or ``not checked`` (an error
        elsewhere stopped the load).
    errors
        One message per error (file, column, YAML path).
    notes
        Unexpected columns and plan-vs-data remarks that do not fail the check.
    quarantine
        The quarantined rows (``file`` is the user's file), one line per fault.
    messages
        The loader's quarantine summary, one sentence per file, column and reason.
    skipped
        The report sections a run will skip, each with what is missing and how to add it
        (an absent optional table; with a plan, no holdout regions, and the notebooks the run
        skips as a whole, :func:`skipped_by_gaps`).
    """

    data_dir: Path
    plan_file: Path | None
    tables: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quarantine: pd.DataFrame | None = None
    messages: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return int(self.tables["rows_quarantined"].fillna(0).sum())

    def exit_code(self, allow_quarantine: bool = False) -> int:
        """Return 2 on errors, 1 when rows were quarantined (unless allowed), else 0."""
        if self.errors:
            return EXIT_ERRORS
        if self.rows_quarantined and not allow_quarantine:
            return EXIT_QUARANTINE
        return EXIT_CLEAN

    def text(self, allow_quarantine: bool = False) -> str:
        """Return the report ``imclab validate`` prints."""
        head = f"Data folder {self.data_dir}"
        if self.plan_file is not None:
            head += f", campaign plan {self.plan_file}"
        shown = self.tables.copy()
        for col in ("date_min", "date_max"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:%Y-%m-%d}")
        for col in ("rows_read", "rows_accepted", "rows_quarantined"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        shown = shown.fillna("")
        for col in ("missing_columns", "unexpected_columns"):
            if not shown[col].astype(bool).any():
                shown = shown.drop(columns=col)
        lines = [head, "", shown.to_string(index=False), ""]
        if self.errors:
            lines += ["Errors:", *["  " + e.replace("\n", "\n    ") for e in self.errors], ""]
        if self.notes:
            lines += ["Notes:", *[f"  {n}" for n in self.notes], ""]
        if self.skipped:
            lines += ["Sections the run will skip:", *[f"  {n}" for n in self.skipped], ""]
        if self.messages:
            lines += ["Quarantined rows (kept out of the analysis):"]
            lines += [f"  {m}" for m in self.messages] + [""]
        code = self.exit_code(allow_quarantine)
        if code == EXIT_ERRORS:
            n = len(self.errors)
            lines.append(
                f"Result: {n} error{'s' if n > 1 else ''}; fix {'them' if n > 1 else 'it'} and "
                "validate again."
            )
        elif self.rows_quarantined and code == EXIT_QUARANTINE:
            lines.append(
                f"Result: {self.rows_quarantined:,} row(s) quarantined; fix them in your files "
                "or accept them with --allow-quarantine."
            )
        elif self.rows_quarantined:
            lines.append(f"Result: usable; {self.rows_quarantined:,} row(s) quarantined (allowed).")
        else:
            lines.append("Result: clean; every row was accepted.")
        return "\n".join(lines)


def _row(table: str, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(TABLE_COLUMNS)
    row.update({"table": table, "missing_columns": "", "unexpected_columns": ""})
    row.update(values)
    return row


def _check_columns(
    table: str, path: Path, spec: Any, errors: list[str], notes: list[str]
) -> tuple[str, str]:
    """Compare a file's header with the table (or its mapping); return missing, unexpected."""
    from imclab.plan import resolve_delimiter

    if spec is not None:
        header = table_header(path, resolve_delimiter(spec.delimiter), spec.encoding)
    else:
        header = table_header(path)
    columns = list(SCHEMAS[table].columns)
    if spec is not None:
        faults = _plan_table(table, spec, header, path.name).faults
        errors.extend(faults)
        missing = [c for c in columns if f"column '{c}'" in " ".join(faults)]
        used = {spec.rename.get(c, c) for c in columns}
        if spec.channel is not None:
            used |= {c for rule in spec.channel.rules for c in rule.when}
        unused = [h for h in header if h not in used]
        if unused:
            notes.append(f"{path.name}: columns not used by columns.{table}: {', '.join(unused)}")
        return ", ".join(missing), ""
    missing_required = [c for c, col in SCHEMAS[table].columns.items() if col.required]
    missing_required = [c for c in missing_required if c not in header]
    absent = [c for c in columns if c not in header]
    unexpected = [h for h in header if h not in columns]
    for name in missing_required:
        hint = _hint(name, unexpected)
        errors.append(
            f"{path.name}: missing required column '{name}'{hint}; rename it in the file or map "
            f"it in the plan (columns.{table}.rename.{name}: <your column>)"
        )
    for name in unexpected:
        hint = _hint(name, absent)
        notes.append(f"{path.name}: unexpected column '{name}'{hint} (not loaded)")
    return ", ".join(missing_required), ", ".join(unexpected)


def validate_data(
    data_dir: str | Path,
    campaign: str | Path | None = None,
    as_of: str | date | datetime | pd.Timestamp | None = None,
) -> ValidationResult:
    """Check a data folder (and a campaign plan) the way ``imclab run`` would read them.

    Parameters
    ----------
    data_dir
        The user's data folder.
    campaign
        A campaign plan file or name; its ``columns:`` section maps the files first.
    as_of
        Events after this moment count as "in the future" (default: with a plan, the run's
        rule :func:`imclab.warehouse.run_as_of`, so the counts are the run's; else now).

    Returns
    -------
    ValidationResult
        Per-table counts, errors, notes, the sections a run will skip and the quarantine;
        ``exit_code()`` gives the command's exit status. With a plan, what the run needs is
        checked too: the campaign period has touchpoints and orders and the campaign has
        rows (errors), planned channels have touches and spend (notes).
    """
    from imclab.data.load import REFERENCES_CUSTOMERS
    from imclab.data.mapping import mapped_sources
    from imclab.plan import load_plan, plan_path
    from imclab.report.sections import skipped_sections
    from imclab.warehouse import open_world

    folder = Path(data_dir)
    errors: list[str] = []
    notes: list[str] = []
    plan = None
    plan_file = plan_path(campaign) if campaign is not None else None
    if campaign is not None:
        try:
            plan = load_plan(campaign)
        except PlanValidationError as exc:
            errors.extend(str(exc).splitlines())  # one line per fault
        except PlanError as exc:  # one error (a YAML error spans several lines)
            errors.append(str(exc))
    columns = plan.columns if plan is not None else None
    mapped = columns.tables if columns is not None else {}
    empty = pd.DataFrame([_row(t, status="not checked") for t in TABLES], columns=TABLE_COLUMNS)
    if folder.is_file() and folder.suffix.lower() in (".yaml", ".yml"):
        errors.append(
            f"{folder}: a campaign plan, not a data folder; give the data folder first: "
            f"imclab validate DATA_FOLDER --campaign {folder}"
        )
        return ValidationResult(folder, plan_file, empty, errors, notes)
    if not folder.is_dir():
        errors.append(f"{folder}: data folder not found (run imclab init NAME --data {folder})")
        return ValidationResult(folder, plan_file, empty, errors, notes)
    if plan is None and plan_file is not None and _has_columns_section(plan_file):
        # the files are named by the plan's columns: section: without it every table would
        # look missing, one error per table for one mistake in the plan
        notes.append(
            f"the files of {folder} are checked once the plan's columns: section loads "
            "(fix the plan errors above)"
        )
        return ValidationResult(folder, plan_file, empty, errors, notes)

    rows: dict[str, dict[str, Any]] = {}
    empty_optional: list[str] = []
    for table in TABLES:
        try:
            path = source_file(folder, table, columns)
        except DataError as exc:
            errors.append(str(exc))
            rows[table] = _row(table, status="error")
            continue
        if path is None:
            if table in REQUIRED_TABLES:
                errors.append(
                    f"{folder}: missing required file {table}.csv (or {table}.parquet)"
                    + closest_match_hint(f"{table}.csv", [p.name for p in folder.iterdir()])
                )
                rows[table] = _row(table, status="error")
            else:
                rows[table] = _row(table, status="absent")
            continue
        advice = format_advice(path, table, mapped.get(table))
        if advice is not None:  # the header and every row would be misread: say why once
            errors.append(advice)
            rows[table] = _row(table, file=path.name, status="error")
            continue
        try:
            n_errors = len(errors)
            missing, unexpected = _check_columns(table, path, mapped.get(table), errors, notes)
            status = "error" if len(errors) > n_errors else "not checked"
        except DataError as exc:
            errors.append(str(exc))
            missing, unexpected, status = "", "", "error"
        if status != "error" and path.suffix == ".csv" and _data_rows(path) == 0:
            if table in OPTIONAL_TABLES:
                empty_optional.append(table)
                notes.append(
                    f"{path.name}: no data rows; the optional table is left out (fill it or "
                    "delete the file)"
                )
                status = "absent"
            else:
                errors.append(f"{path.name}: the file has no data rows")
                status = "error"
        rows[table] = _row(
            table,
            file=path.name,
            status=status,
            missing_columns=missing,
            unexpected_columns=unexpected,
        )

    quarantine = None
    messages: list[str] = []
    skipped: list[str] = []
    if plan is not None and as_of is None:
        from imclab.warehouse import run_as_of

        as_of = run_as_of(plan)  # the rows the run will analyse
    # Every table that read is checked, also when another one failed (a table that
    # references customers needs them).
    failed = {t for t, row in rows.items() if row["status"] == "error"}
    wanted = [t for t in TABLES if t not in empty_optional and t not in failed]
    if "customers" in failed:
        blocked = [t for t in wanted if t in REFERENCES_CUSTOMERS]
        wanted = [t for t in wanted if t not in blocked]
        if blocked:
            notes.append(f"{', '.join(blocked)} not checked: they refer to customers, which failed")
    plan_failed = campaign is not None and plan is None
    if wanted and not plan_failed and not (failed & set(mapped)):
        with tempfile.TemporaryDirectory(prefix="imclab-validate-") as tmp:
            try:
                source = apply_mapping(folder, columns, Path(tmp) / "mapped") if mapped else folder
                world = open_world(source, as_of=as_of, tables=wanted)  # as the run opens it
            except ImclabError as exc:
                errors.append(str(exc))
                world = None
            if world is not None:
                names = mapped_sources(source) if mapped else {}
                for table, rep in world.report.tables.items():
                    if not rep.present:
                        continue
                    row = rows[table]
                    row.update(
                        rows_read=rep.rows_read,
                        rows_accepted=rep.rows_loaded,
                        rows_quarantined=rep.rows_quarantined,
                        date_min=rep.date_min,
                        date_max=rep.date_max,
                        status="quarantined" if rep.rows_quarantined else "ok",
                    )
                errors.extend(_all_quarantined(world, names))
                quarantine = world.quarantine.copy()
                if names and len(quarantine):
                    quarantine["file"] = quarantine["file"].map(lambda f: names.get(f, f))
                messages = [_rename_files(m, names) for m in world.report.messages]
                if plan is not None and not failed:
                    plan_errors, plan_notes = _plan_checks(plan, world)
                    errors.extend(plan_errors)
                    notes.extend(plan_notes)
                present = {t for t, r in world.report.tables.items() if r.rows_loaded}
                skipped = skipped_sections(plan, present)
                if plan is not None and not failed:
                    skipped += skipped_by_gaps(world, plan)
    frame = pd.DataFrame([rows[t] for t in TABLES], columns=TABLE_COLUMNS)
    for col in ("rows_read", "rows_accepted", "rows_quarantined"):
        frame[col] = frame[col].astype("Int64")
    for col in ("date_min", "date_max"):
        frame[col] = pd.to_datetime(frame[col])
    return ValidationResult(folder, plan_file, frame, errors, notes, quarantine, messages, skipped)


def _has_columns_section(plan_file: Path) -> bool:
    """Whether a plan that failed to load has a top-level ``columns:`` section."""
    try:
        text = Path(plan_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^columns\s*:", text, flags=re.MULTILINE) is not None


def _all_quarantined(world: Any, names: dict[str, str]) -> list[str]:
    """Return an error per table whose every row was quarantined, with the most frequent reason."""
    out = []
    for table, rep in world.report.tables.items():
        if not rep.present or not rep.rows_read or rep.rows_loaded:
            continue
        faults = world.quarantine[world.quarantine["file"] == rep.file]
        file = names.get(rep.file or "", rep.file or table)
        cause = ""
        if len(faults):
            top = faults.groupby(["column", "reason"], sort=True).size().idxmax()
            cause = f"; the most frequent reason: column '{top[0]}': {top[1]}"
        out.append(
            f"{file}: every row ({rep.rows_read:,}) was quarantined, so the table is unusable"
            f"{cause}"
        )
    return out


def _data_rows(path: Path) -> int:
    """Count non-blank lines after the header (0 for a header-only template)."""
    with path.open("rb") as handle:
        handle.readline()
        for line in handle:
            if line.strip():
                return 1
    return 0


def _rename_files(message: str, names: dict[str, str]) -> str:
    for mapped, original in names.items():
        if message.startswith(mapped):
            return original + message[len(mapped) :]
    return message


def skipped_by_gaps(world: Any, plan: Any) -> list[str]:
    """Return one line per part of the report ``imclab run`` will skip for what the world lacks.

    The rule is the run's own (:func:`imclab.report.sections.find_gaps` and
    :meth:`~imclab.report.sections.Gaps.skipped_lines`, on the suite's notebooks), so what
    validate lists is what the report's sections say and the run's index marks skipped.
    """
    from imclab.config import NOTEBOOKS_DIR
    from imclab.report.notebook_io import discover_notebooks
    from imclab.report.sections import find_gaps

    stems = [path.stem for path in discover_notebooks(NOTEBOOKS_DIR)]
    return find_gaps(world, plan).skipped_lines(stems)


def _plan_checks(plan: Any, world: Any) -> tuple[list[str], list[str]]:
    """Check what the run of ``plan`` needs from the data; return ``(errors, notes)``.

    Errors: no touchpoints or no orders in the campaign period, or no row of the campaign in
    touchpoints and spend. Notes: the period partly covered, the campaign missing from one
    table, planned channels without touches or spend, holdout regions no customer lives in.
    """
    errors: list[str] = []
    notes: list[str] = []
    tables = world.tables
    start, end = pd.Timestamp(plan.start), pd.Timestamp(plan.end) + pd.Timedelta(days=1)
    missing_in = []
    for table in ("touchpoints", "spend"):
        frame = tables.get(table)
        if frame is None or frame.empty:
            continue
        if plan.name not in set(frame["campaign"].astype(str)):
            missing_in.append(table)
            found = sorted(set(frame["campaign"].astype(str)))
            hint = closest_match_hint(plan.name, found)
            notes.append(
                f"{table}: no row has campaign '{plan.name}' (the plan's name){hint}; "
                f"campaigns found: {', '.join(found[:10])}"
            )
    if len(missing_in) == 2:
        errors.append(
            f"campaign '{plan.name}' has no row in touchpoints or spend: the run would review "
            "a campaign the data does not hold (the plan's name must match the campaign column)"
        )
    for table, column in (("touchpoints", "timestamp"), ("conversions", "timestamp")):
        frame = tables.get(table)
        if frame is None:
            continue
        stamps = frame[column]
        inside = int(((stamps >= start) & (stamps < end)).sum())
        if not inside:
            span = (
                f"{stamps.min():%Y-%m-%d} to {stamps.max():%Y-%m-%d}" if len(stamps) else "nothing"
            )
            errors.append(
                f"{table}: no row between {plan.start} and {plan.end} (the campaign period); "
                f"the data covers {span}"
            )
    tp = tables.get("touchpoints")
    if tp is not None and not tp.empty:
        first, last = tp["timestamp"].min().date(), tp["timestamp"].max().date()
        if first <= plan.end and last >= plan.start and (plan.start < first or plan.end > last):
            notes.append(
                f"touchpoints cover {first} to {last}, but the campaign runs {plan.start} to "
                f"{plan.end}: days outside the data show no activity"
            )
    planned = list(dict.fromkeys([*plan.budget.by_channel, *(c for p in plan.phases
                                                              for c in p.channels)]))  # fmt: skip
    if tp is not None and not tp.empty:
        period = tp[(tp["timestamp"] >= start) & (tp["timestamp"] < end)]
        seen = set(period["channel"].astype(str))
        quiet = [c for c in planned if c not in seen]
        if quiet and len(quiet) < len(planned):
            notes.append(
                f"planned channel(s) without a touchpoint in the campaign period: "
                f"{', '.join(quiet)} (their attribution and reach show zero)"
            )
    spend = tables.get("spend")
    if spend is not None and not spend.empty and "spend" not in missing_in:
        mine = spend[spend["campaign"].astype(str) == plan.name]
        paid = set(mine.loc[mine["spend"] > 0, "channel"].astype(str))
        unpaid = [c for c in plan.budget.by_channel if c not in paid]
        if unpaid:
            notes.append(
                f"budgeted channel(s) without spend of campaign '{plan.name}': "
                f"{', '.join(unpaid)} (planned versus actual shows them at 0)"
            )
    customers = tables.get("customers")
    if plan.holdout_regions and customers is not None and "region" in customers:
        regions = set(customers["region"].dropna().astype(str))
        absent = [r for r in plan.holdout_regions if r not in regions]
        if absent:
            notes.append(
                f"holdout region(s) no customer lives in: {', '.join(absent)}"
                + closest_match_hint(absent[0], sorted(regions))
            )
    return errors, notes
