"""`benchmark-mri`: the benchmark's own commands (dashboards, publishing).

    benchmark-mri report [RESULT_FILE] [-o DIR] [--inline]
    benchmark-mri publish RESULT_FILE --name NAME [--results-dir results] [--force]
                          [--no-gallery]
    benchmark-mri prepare -d DATASET [-j N] [--smaps espirit] [--benchmark .]
    benchmark-mri plan [--config FILE] [-d DATASET ...] [-s SOLVER ...] [--no-measure]

Without RESULT_FILE, `report` takes the newest result file in ./outputs/.
"""

import argparse
import sys
from pathlib import Path


def newest_result(outputs: Path = Path("outputs")) -> Path:
    files = [p for p in outputs.glob("*") if p.suffix in (".parquet", ".csv")]
    if not files:
        raise FileNotFoundError(
            f"No result file in {outputs.resolve()}/: run `benchopt run .` first, "
            "or give RESULT_FILE.")
    return max(files, key=lambda p: p.stat().st_mtime)


def result_file(path: str | None) -> Path:
    """The result file a command was given, or the newest in ./outputs/; a
    folder is refused, listing the result files in it."""
    if not path:
        return newest_result()
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*") if p.suffix in (".parquet",
                                                                       ".csv"))
        listed = (f"; the result files in it: {', '.join(found[:5])}"
                  + (" ..." if len(found) > 5 else "")) if found else \
            "; it holds no result file (.parquet / .csv)"
        raise FileNotFoundError(f"{path} is a folder: give a result file written "
                                f"by `benchopt run`{listed}.")
    return path


def _slices(text: str) -> int:
    """argparse type of --gallery-slices: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{text} is not a number of slices: give an integer >= 1.")
    return value


def _inline_size() -> str:
    from .report.files import plotly_script

    return f"{len(plotly_script()[1].encode()) / 1e6:.1f} MB"


def _report(args):
    from .report.html import build_report

    result = result_file(args.result_file)
    out = Path(args.output or result.with_name(result.stem + "_report"))
    page = build_report(result, out, plotly_js="inline" if args.inline else "alongside",
                        max_slices=args.gallery_slices)
    print(f"Dashboard of {result}: {page.resolve().as_uri()}")


def _publish(args):
    from .report.publish import publish

    page = publish(args.result_file, args.name, args.results_dir, force=args.force,
                   gallery=not args.no_gallery)
    print(f"Published {args.result_file} as {page.parent}/ "
          f"(index: {Path(args.results_dir) / 'index.html'})")


def _prepare(args):
    from .prepare import prepare_maps

    n = prepare_maps(Path(args.benchmark), args.dataset, args.smaps, args.jobs)
    print(f"Computed the coil maps of {n} volume(s); the others were cached.")


def _plan(args):
    from .plan import plan

    plan(Path(args.benchmark), args.config, args.dataset, args.solver,
         measure=not args.no_measure)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="benchmark-mri", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report", help="offline HTML dashboard of a benchopt result file")
    report.add_argument("result_file", nargs="?",
                        help="a .parquet / .csv from benchopt run (default: newest "
                        "in outputs/)")
    report.add_argument("-o", "--output", help="folder to write index.html into "
                        "(default: outputs/<result name>_report/)")
    report.add_argument("--inline", action="store_true",
                        help="inline plotly.js: one self-contained file "
                        f"(+{_inline_size()})")
    report.add_argument("--gallery-slices", type=_slices, default=2,
                        help="slices shown per dataset setting (default 2)")
    report.set_defaults(run=_report)
    publish = commands.add_parser(
        "publish", help="copy a run and its dashboard into results/<name>/")
    publish.add_argument("result_file")
    publish.add_argument("--name", required=True, help="folder name under results/")
    publish.add_argument("--results-dir", default="results")
    publish.add_argument("--force", action="store_true",
                         help="replace results/<name>/ if it exists")
    publish.add_argument("--no-gallery", action="store_true",
                         help="keep no reconstruction images (a study of many "
                         "solvers and settings); figures and tables stay")
    publish.set_defaults(run=_publish)
    prepare = commands.add_parser(
        "prepare", help="compute a dataset's test-split coil maps into the cache")
    prepare.add_argument("-d", "--dataset", required=True,
                         help='a benchopt dataset pattern, e.g. '
                         '"fastmri_knee[n_test_volumes=None]"')
    prepare.add_argument("-j", "--jobs", type=int, default=1,
                         help="volumes computed in parallel (joblib)")
    prepare.add_argument("--smaps", default="espirit",
                         help="the objective's coil-map estimator (default espirit)")
    prepare.add_argument("--benchmark", default=".", help="the benchmark folder")
    prepare.set_defaults(run=_prepare)
    plan = commands.add_parser(
        "plan", help="what a run will read, compute and train, and its cost, "
        "without running it")
    plan.add_argument("--config", help="a run config (configs/*.yml)")
    plan.add_argument("-d", "--dataset", action="append", default=[],
                      help="a dataset pattern, as benchopt run takes it (repeat "
                      "for several; replaces the config's datasets)")
    plan.add_argument("-s", "--solver", action="append", default=[],
                      help="a solver pattern (repeat; replaces the config's solvers)")
    plan.add_argument("--no-measure", action="store_true",
                      help="count the work only, measure no throughput")
    plan.add_argument("--benchmark", default=".", help="the benchmark folder")
    plan.set_defaults(run=_plan)
    return main


def main(argv=None) -> int:
    from .report.read import ReportInputError

    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (ReportInputError, OSError, ValueError) as err:
        print(f"benchmark-mri {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
