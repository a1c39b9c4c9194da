"""The ``imclab`` command line: run a campaign's notebooks, simulate, init and validate data.

Errors imclab raises on purpose are printed as ``imclab: error: <message>`` (exit 2); an
interrupted run exits 130; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from imclab.errors import ImclabError, ParameterError

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


type Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with one sub-parser per command.

    Each command is added by a function in `COMMANDS` that creates its sub-parser and sets
    ``handler`` (called with the parsed arguments, returns the exit code); a new command
    is one more such function appended there.

    Returns
    -------
    argparse.ArgumentParser
        Commands: ``run``, ``simulate``, ``init``, ``validate``.
    """
    parser = argparse.ArgumentParser(
        prog="imclab",
        description="Integrated Marketing Communications analysis suite.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def _add_run(commands: Subparsers) -> None:
    run = commands.add_parser(
        "run",
        help="run the notebooks for a campaign plan and build the HTML report",
        description=(
            "Execute the notebooks (notebooks/NN_name.ipynb, in name order) with papermill "
            "for a campaign plan, into reports/<plan name>/ with one HTML page per notebook "
            "and an index.html. The report is replaced only when every notebook succeeds."
        ),
    )
    run.add_argument(
        "plan",
        help="campaign plan YAML (campaigns/spring_launch.yaml) or a plan name (spring_launch)",
    )
    run.add_argument(
        "--data", type=Path, default=None, help="brand-world data folder (default data/sample)"
    )
    run.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        default=None,
        help="run only these notebooks (02_persona_clustering, persona_clustering or 02); the "
        "new report holds only them and marks the others 'not run'",
    )
    run.add_argument(
        "--out", type=Path, default=None, help="report folder (default reports/<plan name>)"
    )
    run.add_argument("--show-code", action="store_true", help="keep code cells in the HTML pages")
    run.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default=None,
        help="override the plan's query engine (for notebooks that take an engine)",
    )
    run.set_defaults(handler=_run)


def _add_simulate(commands: Subparsers) -> None:
    sim = commands.add_parser(
        "simulate",
        help="generate a synthetic brand world with known ground truth",
        description="Simulate customers, touchpoints, orders, spend and surveys.",
    )
    sim.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the simulator's)"
    )
    sim.add_argument(
        "--customers", type=int, default=None, help="number of customers (default: the simulator's)"
    )
    sim.add_argument("--out", type=Path, required=True, help="output folder")
    sim.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="table format (default csv)"
    )
    sim.add_argument(
        "--faults",
        action="store_true",
        help="add the documented broken rows of a real export (listed in truth/faults.csv)",
    )
    sim.add_argument(
        "--plan",
        default=None,
        help="simulate the campaign of this plan: its name and start/end dates (a plan file or "
        "a name in campaigns/)",
    )
    sim.add_argument(
        "--campaign", default=None, help="campaign name (default: the plan's, or spring_launch)"
    )
    sim.add_argument(
        "--start", default=None, help="campaign start YYYY-MM-DD (default: the plan's)"
    )
    sim.add_argument("--end", default=None, help="campaign end YYYY-MM-DD (default: the plan's)")
    sim.add_argument(
        "--synergy",
        action="append",
        default=None,
        metavar="A:B=FACTOR",
        help="plant a synergy between channels A and B (e.g. social:edm=2; repeatable); "
        "its true effect goes to truth/synergy.csv",
    )
    sim.add_argument(
        "--integration-truth",
        action="store_true",
        help="write truth/synergy.csv and truth/exposure.csv even without a planted synergy",
    )
    sim.add_argument(
        "--spend-plan",
        type=Path,
        default=None,
        metavar="FILE",
        help="what the campaign spends instead of the simulator's own budget: a CSV "
        "channel,phase,spend or channel,spend (split across the phases teaser, launch, sustain "
        "by the simulator's own phase budgets), or a plan YAML (its phase budgets, e.g. the "
        "planning notebook's next_campaign.yaml); amounts are what this world spends (not "
        "scaled by --customers, no delivery factor); the truth/ folder is the true outcome of "
        "that spend",
    )
    sim.set_defaults(handler=_simulate)


def _add_init(commands: Subparsers) -> None:
    init = commands.add_parser(
        "init",
        help="start a campaign on your own data: plan template and CSV templates",
        description=(
            "Write a commented campaign plan template campaigns/NAME.yaml (never overwritten) "
            "and empty CSV templates with the expected headers into the data folder, then "
            "print the next commands."
        ),
    )
    init.add_argument("name", help="campaign name: lowercase letters, digits, '_' and '-'")
    init.add_argument(
        "--data", type=Path, default=None, help="folder for the CSV templates (default data/NAME)"
    )
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from imclab.scaffold import init_campaign

    print(init_campaign(args.name, data_dir=args.data).guide)
    return EXIT_OK


def _add_validate(commands: Subparsers) -> None:
    val = commands.add_parser(
        "validate",
        help="check a data folder (and a campaign plan) without running any notebook",
        description=(
            "Per table: rows read, accepted and quarantined with the reasons, missing or "
            "unexpected columns, date range. Exit status: 0 clean; 1 rows quarantined (0 with "
            "--allow-quarantine); 2 errors (missing files or columns, invalid plan)."
        ),
    )
    val.add_argument("data_dir", type=Path, help="the brand-world data folder to check")
    val.add_argument(
        "--campaign",
        default=None,
        help="campaign plan (file or name): checked too; its columns: section maps the files",
    )
    val.add_argument(
        "--allow-quarantine",
        action="store_true",
        help="exit 0 when the only problems are quarantined rows",
    )
    val.add_argument(
        "--as-of",
        default=None,
        help="rows dated after this are 'in the future' (default: the run's rule with "
        "--campaign, the end of its measurement window; else now)",
    )
    val.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    from imclab.validate import validate_data

    result = validate_data(args.data_dir, campaign=args.campaign, as_of=args.as_of)
    print(result.text(args.allow_quarantine))
    return result.exit_code(args.allow_quarantine)


COMMANDS: list[Callable[[Subparsers], None]] = [_add_run, _add_simulate, _add_init, _add_validate]
"""Functions adding one sub-command each to the parser, in ``--help`` order."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``imclab`` command line.

    Parameters
    ----------
    argv
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 on an imclab error (printed as ``imclab: error: ...``) or a usage
        error (argparse's message), 130 when a run was interrupted (Ctrl-C or SIGTERM).
    """
    from imclab.report.runner import RunInterruptedError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or usage error (2)
        return int(exc.code or 0)
    try:
        return args.handler(args)
    except RunInterruptedError as exc:
        print(f"imclab: interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ImclabError as exc:
        print(f"imclab: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into ``KeyboardInterrupt`` so a killed run keeps its partial output."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed by the main thread
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from imclab import config
    from imclab.plan import plan_path
    from imclab.report.runner import run_campaign

    # Reports go to the analyst's project (the plan's campaigns/ parent, or the current
    # folder), not to the folder the package was installed from.
    root = config.project_dir(plan_path(args.plan))
    with _sigterm_interrupts():
        result = run_campaign(
            args.plan,
            notebooks_dir=config.NOTEBOOKS_DIR,
            data_dir=args.data or config.SAMPLE_DATA_DIR,
            root=root,
            report_dir=args.out,
            only=args.only,
            engine=args.engine,
            show_code=args.show_code,
            log=lambda line: print(line, file=sys.stderr),
        )
    ran = sum(entry.status == "ok" for entry in result.notebooks)
    skipped = [entry.name for entry in result.notebooks if entry.status == "skipped"]
    also = f"; skipped, the data lacks what they analyse: {', '.join(skipped)}" if skipped else ""
    print(f"report: {result.report_dir / 'index.html'} ({ran} notebook(s) run{also})")
    return EXIT_OK


def _synergy_term(text: str) -> tuple[tuple[str, str], float]:
    """Parse ``A:B=FACTOR`` of ``imclab simulate --synergy``."""
    pair, _, factor = text.partition("=")
    channels = tuple(pair.split(":"))
    try:
        value = float(factor)
    except ValueError:
        value = None
    if len(channels) != 2 or value is None:
        raise ParameterError(
            f"simulate --synergy {text!r}: expected CHANNEL_A:CHANNEL_B=FACTOR, e.g. social:edm=2"
        )
    return (channels[0], channels[1]), value


def _simulate(args: argparse.Namespace) -> int:
    from imclab.simulate import read_spend_plan, simulate_world
    from imclab.simulate import world as W

    kwargs: dict[str, object] = {"fmt": args.format, "faults": args.faults}
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.customers is not None:
        kwargs["n_customers"] = args.customers
    if args.synergy:
        kwargs["synergy"] = dict(_synergy_term(text) for text in args.synergy)
    if args.integration_truth:
        kwargs["integration_truth"] = True
    if args.plan or args.campaign or args.start or args.end:
        kwargs["calendar"] = _simulated_calendar(args)
    if args.spend_plan is not None:
        kwargs["spend_plan"] = read_spend_plan(
            args.spend_plan, kwargs.get("calendar") or W.Calendar()
        )
    out = simulate_world(args.out, **kwargs)
    print(f"brand world written to {out}")
    return EXIT_OK


def _simulated_calendar(args: argparse.Namespace):
    """Return the calendar ``imclab simulate`` draws: its options over the plan's dates."""
    import datetime as dt

    from imclab.errors import ParameterError
    from imclab.simulate import world

    name, start, end = world.CAMPAIGN, world.CAMPAIGN_START, world.CAMPAIGN_END
    if args.plan:
        from imclab.plan import load_plan

        plan = load_plan(args.plan)
        name, start, end = plan.name, plan.start, plan.end
    try:
        start = dt.date.fromisoformat(args.start) if args.start else start
        end = dt.date.fromisoformat(args.end) if args.end else end
    except ValueError as exc:
        raise ParameterError(f"simulate: --start/--end: {exc} (expected YYYY-MM-DD)") from None
    if start > end:
        raise ParameterError(f"simulate: --start {start} is after --end {end}")
    return world.calendar(args.campaign or name, start, end)


if __name__ == "__main__":
    sys.exit(main())
