"""The `cx` command: generate sample data, ingest, build the warehouse, or all of it with `cx run`.

    cx run --sample                     sample data (if none), ingest, quality gate, dbt build, summary
    cx generate --customers 10000       raw touchpoint files under data/raw
    cx ingest --input data/raw          the Beam job alone (extra arguments go to Beam, e.g. --runner)
    cx build                            dbt build over the published lake
    cx inspect data/raw/email/page.json how a file is framed, which adapter takes it, its first record mapped
    cx check                            every configuration file and the input layout, without running
    cx query "select * from root_causes limit 5"
    cx docs                             the dbt docs site as one HTML file under data/warehouse/docs
    cx eval-tags --labeled F.jsonl      reason tagging measured on labeled texts (--compare-tiers ...)
    cx tags train --labeled F.csv       learn reasons from a team's labeled contacts (or --from-lake)
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from pipelines.home import default_path

console = Console()
if not console.is_terminal:
    console = Console(width=140)
err_console = Console(stderr=True, width=10_000)


class _QuietImports(logging.Filter):
    """Drop the notice Beam logs at import when Google Cloud clients are not installed (they are optional)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_QuietImports())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    # Beam logs a failing step's traceback before re-raising it; main() reports the error in one line.
    logging.getLogger("apache_beam.runners.common").setLevel(logging.CRITICAL)


class CxError(Exception):
    """An error the user can fix; shown as one line, exit code 1."""


def _paths(warehouse: str) -> dict[str, Path]:
    root = Path(warehouse)
    return {"lake": root / "lake", "duckdb": root / "cx.duckdb", "exports": root / "exports", "report": root / "report.html"}


def _has_input(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.glob("*/*"))


@contextmanager
def _one_run_at_a_time(warehouse: str):
    """A command that writes the warehouse holds its lock: overlapping runs (as cron makes them) get one line."""
    from pipelines.lock import RunLockError, run_lock

    try:
        with run_lock(warehouse):
            yield
    except RunLockError as exc:
        raise CxError(str(exc)) from None


def _ingest(input_dir: str, lake: Path, taxonomy: str | None, chunk_mb: float, buckets: int, tiers: str,
            beam_args: tuple[str, ...], scope: dict, touchpoints: str | None = None, identity: str | None = None):
    from pipelines.ingest import IngestError, run

    try:
        return run(list(beam_args), input=str(input_dir), output=str(lake), chunk_mb=chunk_mb, buckets=buckets, tiers=tiers,
                   taxonomy=taxonomy, touchpoints=touchpoints, identity=identity, full=scope["full"] or None,
                   reprocess=list(scope["reprocess"]) or None, reprocess_from=scope["reprocess_from"], reprocess_to=scope["reprocess_to"])
    except IngestError as exc:
        raise CxError(str(exc)) from None


def _actions(actions: str | None, input_dir: str, taxonomy: str | None):
    """The checked closed-loop actions: --actions, else _actions.csv in the input folder if there is one."""
    from pipelines.actions import ActionsError, load_actions
    from transforms.tagging.taxonomy import TaxonomyError, load_taxonomy

    if actions is not None and not Path(actions).is_file():
        raise CxError(f"{actions}: actions file not found")
    try:
        codes = {reason.code for reason in load_taxonomy(taxonomy).reasons}
        return load_actions(actions or Path(input_dir) / "_actions.csv", codes)
    except (ActionsError, TaxonomyError) as exc:
        raise CxError(str(exc)) from None


def _report(paths: dict[str, Path], out: Path | None = None) -> tuple[Path, float]:
    """Write the HTML report of the warehouse (pipelines.report); (its path, seconds)."""
    from pipelines.report import build_report

    if not paths["duckdb"].exists():
        raise CxError(f"{paths['duckdb']}: no warehouse yet; run `cx run` first")
    return build_report(paths["duckdb"], out or paths["report"], paths["lake"])


def _freshness_line(duckdb_path: Path) -> str:
    """How old the newest event of each touchpoint is, as one line: "freshness: web 12s, billing 3m"."""
    from pipelines.summary import freshness

    ages = freshness(duckdb_path)
    return "freshness: " + (", ".join(f"{touchpoint} {age}" for touchpoint, age in ages) if ages else "no events")


def _build(lake: Path, duckdb_path: Path, exports: Path, actions, full_refresh: bool = False):
    from pipelines.warehouse import WarehouseError, build_warehouse

    if not (lake / "current").exists():
        raise CxError(f"{lake}/current: nothing published yet; run `cx ingest` first")
    try:
        return build_warehouse(lake / "current", duckdb_path, exports, full_refresh=full_refresh, actions=actions)
    except WarehouseError as exc:
        raise CxError(str(exc)) from None


taxonomy_option = click.option("--taxonomy", type=click.Path(file_okay=False), default=None,
                               help="Folder with reasons.yml, outcomes.yml, phases.yml (default: data/taxonomy).")
touchpoints_option = click.option("--touchpoints", type=click.Path(dir_okay=False), default=None,
                                  help="YAML mapping input folders to adapters (default: data/config/touchpoints.yml).")
identity_option = click.option("--identity", type=click.Path(dir_okay=False), default=None,
                               help="Identity stitching guards: blocked values, per-type limits (default: data/config/identity.yml).")
warehouse_option = click.option("--warehouse", type=click.Path(file_okay=False), default=lambda: default_path("data/warehouse"), show_default="<project>/data/warehouse",
                                help="Where the lake, the DuckDB file and the exports live.")
chunk_option = click.option("--chunk-mb", type=click.FloatRange(min=0.01), default=8.0, show_default=True,
                            help="Size of the file chunks parsed as one Arrow table.")
tiers_option = click.option("--tiers", default="rules,examples", show_default=True,
                            help="Reason tagging tiers: rules, examples, embeddings (needs the 'embeddings' extra).")


def scope_options(command):
    """--full, --reprocess GLOB, --reprocess-from/--reprocess-to DAY: what an incremental run reads again."""
    command = click.option("--reprocess-to", default=None, metavar="YYYY-MM-DD",
                           help="Read again every file that gave records on or before this day.")(command)
    command = click.option("--reprocess-from", default=None, metavar="YYYY-MM-DD",
                           help="Read again every file that gave records on or after this day (backfill).")(command)
    command = click.option("--reprocess", multiple=True, metavar="GLOB",
                           help="Read again the files matching GLOB (relative to --input), replacing what they gave. Repeatable.")(command)
    return click.option("--full", is_flag=True, help="Read every input file again into a fresh run.")(command)


actions_option = click.option("--actions", type=click.Path(dir_okay=False), default=None,
                              help="The team's closed-loop actions CSV (default: _actions.csv in the input folder, if any).")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON object (the run's result, for orchestrators) instead of the summary.")


def _print_quarantined(manifest: dict) -> None:
    for held in manifest.get("quarantined", []):
        console.print(f"quarantined {held['file']}: {held['reason']}", markup=False, style="yellow")


def _run_result(result, **extra) -> dict:
    """What an orchestrator needs of a run: its id, whether it published, its counts and what it skipped."""
    manifest = result.manifest
    gate = result.gate
    return {"run_id": result.run_id, "published": result.published, "nothing_new": result.nothing_new,
            "totals": manifest["totals"], "files": len(manifest["files"]),
            "skipped_paths": manifest.get("skipped_paths", []),
            "quarantined": manifest.get("quarantined", []),
            "gate": None if gate is None else {"success": gate.success, "failures": gate.failures}, **extra}


buckets_option = click.option("--buckets", type=click.IntRange(min=0), default=0, show_default=True,
                              help="Dedup buckets and write groups (0: one per 32 MB of input).")


@click.group(help=__doc__.split("\n\n")[0])
@click.version_option(package_name="cx-analytics")
def cli() -> None:
    pass


@cli.command(help="Write sample raw files in each touchpoint's native shape, with planted truths.")
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw")
@click.option("--records-per-file", type=click.IntRange(min=1), default=20_000, show_default=True)
def generate(customers: int, seed: int, out: str, records_per_file: int) -> None:
    from pipelines.generate import generate as write_sample

    started = time.perf_counter()
    truth = write_sample(out, customers, seed, records_per_file)
    records = sum(f["records"] for f in truth["files"].values())
    console.print(f"wrote {records:,} records in {len(truth['files'])} files for {customers:,} customers to {out}/ "
                  f"in {time.perf_counter() - started:.1f}s (truth: {out}/_truth.json)")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             help="Run the Beam ingest job, the quality gate, and publish. Extra arguments go to Beam.")
@click.option("--input", "input_dir", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw")
@warehouse_option
@taxonomy_option
@chunk_option
@buckets_option
@tiers_option
@touchpoints_option
@identity_option
@scope_options
@json_option
@click.pass_context
def ingest(ctx: click.Context, input_dir: str, warehouse: str, taxonomy: str | None, chunk_mb: float, buckets: int,
           tiers: str, touchpoints: str | None, identity: str | None, as_json: bool, **scope) -> None:
    import json

    paths = _paths(warehouse)
    with _one_run_at_a_time(warehouse):
        result = _ingest(input_dir, paths["lake"], taxonomy, chunk_mb, buckets, tiers, tuple(ctx.args), scope, touchpoints, identity)
    if as_json:
        print(json.dumps(_run_result(result, lake=str(paths["lake"] / "current"))))
        return
    _print_quarantined(result.manifest)
    if result.nothing_new:
        console.print(f"nothing new: every file under {input_dir}/ is in the published run {result.run_id}")
        return
    t = result.manifest["totals"]
    console.print(f"run {result.run_id}: read {t['read']:,}, good {t['good']:,}, failed {t['failed']:,}, "
                  f"duplicates {t['duplicates']:,}, written {t['written']:,}; published at {paths['lake'] / 'current'}")


@cli.command(help="Build the DuckDB warehouse and Parquet exports with dbt over the published lake.")
@click.option("--input", "input_dir", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw",
              help="Where the default actions file (_actions.csv) is looked for.")
@warehouse_option
@taxonomy_option
@actions_option
@click.option("--full-refresh", is_flag=True, help="Rebuild every model from scratch instead of refreshing what new runs touched.")
def build(input_dir: str, warehouse: str, taxonomy: str | None, actions: str | None, full_refresh: bool) -> None:
    paths = _paths(warehouse)
    with _one_run_at_a_time(warehouse):
        result = _build(paths["lake"], paths["duckdb"], paths["exports"], _actions(actions, input_dir, taxonomy), full_refresh)
    console.print(f"dbt build passed in {result.seconds:.1f}s: {result.duckdb_path}, exports in {result.exports_dir}/")


@cli.command(help="Everything: ingest, quality gate, dbt build, summary; with --sample, generated data first if the input is empty.")
@click.option("--input", "input_dir", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw")
@click.option("--sample", is_flag=True, help="Write generated sample data into the input folder if it holds no files.")
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Customers to simulate when sample data is generated.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--regenerate", is_flag=True, help="Write fresh sample data even if the input has files (implies --sample).")
@warehouse_option
@taxonomy_option
@chunk_option
@buckets_option
@tiers_option
@touchpoints_option
@identity_option
@actions_option
@scope_options
@json_option
@click.option("--watch", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Keep running: every SECONDS, run again when there is something new (closed landing files, changed "
                   "actions), one run at a time; Ctrl-C stops.")
@click.option("--watch-cycles", type=click.IntRange(min=1), default=None, hidden=True)
def run(input_dir: str, sample: bool, customers: int, seed: int, regenerate: bool, warehouse: str, taxonomy: str | None,
        chunk_mb: float, buckets: int, tiers: str, touchpoints: str | None, identity: str | None, actions: str | None,
        as_json: bool, watch: float | None, watch_cycles: int | None, **scope) -> None:
    if watch is None:
        with _one_run_at_a_time(warehouse):
            _run(input_dir, sample or regenerate, customers, seed, regenerate, warehouse, taxonomy, chunk_mb, buckets, tiers,
                 touchpoints, identity, actions, scope, as_json)
        return
    if sample or regenerate or any(scope.values()):
        raise CxError("--watch runs incrementally on the input as it is: not with --sample, --regenerate, --full or --reprocess")
    cycles = 0
    while watch_cycles is None or cycles < watch_cycles:
        started = time.monotonic()
        try:
            with _one_run_at_a_time(warehouse):
                _run(input_dir, False, customers, seed, False, warehouse, taxonomy, chunk_mb, buckets, tiers, touchpoints,
                     identity, actions, scope, as_json, one_line=True)
        except CxError as exc:  # a failed run (a gate, a broken file) is reported; the next cycle tries again
            err_console.print(f"cx: {time.strftime('%H:%M:%S')} {exc}", highlight=False, markup=False, soft_wrap=True)
        cycles += 1
        if watch_cycles is None or cycles < watch_cycles:
            time.sleep(max(0.0, watch - (time.monotonic() - started)))


def _run(input_dir: str, sample: bool, customers: int, seed: int, regenerate: bool, warehouse: str, taxonomy: str | None,
         chunk_mb: float, buckets: int, tiers: str, touchpoints: str | None, identity: str | None, actions: str | None,
         scope: dict, as_json: bool = False, one_line: bool = False) -> None:
    """One run; with `one_line` (watching), a line saying what it did instead of the summary."""
    import json

    from pipelines.generate import generate as write_sample
    from pipelines.summary import collect, render
    from pipelines.warehouse import actions_changed, models_changed, unseen_runs

    paths = _paths(warehouse)
    seconds: dict[str, float] = {}
    if not sample and not _has_input(Path(input_dir)):
        raise CxError(f"{input_dir}: no input files (expected {input_dir}/<touchpoint>/<file>); "
                      "`cx run --sample` writes generated sample data there")
    if regenerate or not _has_input(Path(input_dir)):
        with console.status(f"Generating sample data for {customers:,} customers..."):
            started = time.perf_counter()
            write_sample(input_dir, customers, seed)
            seconds["generate"] = time.perf_counter() - started
    checked_actions = _actions(actions, input_dir, taxonomy)  # a broken actions file stops the run before it ingests
    with console.status("Ingesting (Beam), then the quality gate..."):
        started = time.perf_counter()
        result = _ingest(input_dir, paths["lake"], taxonomy, chunk_mb, buckets, tiers, (), scope, touchpoints, identity)
        seconds["ingest"] = time.perf_counter() - started
    if (result.nothing_new and unseen_runs(paths["duckdb"], paths["lake"] / "current") == []
            and not actions_changed(paths["duckdb"], checked_actions) and not models_changed(paths["duckdb"])):
        if not paths["report"].exists():
            _report(paths)
        if one_line:
            console.print(f"{time.strftime('%H:%M:%S')} nothing new; {_freshness_line(paths['duckdb'])}", highlight=False)
            return
        if as_json:
            print(json.dumps(_run_result(result, built=False, duckdb=str(paths["duckdb"]), report=str(paths["report"]),
                                         seconds=seconds)))
            return
        console.print(f"nothing new: every file under {input_dir}/ is in the published run {result.run_id}; "
                      "the warehouse is up to date (--reprocess or --full read files again)")
        render(console, collect(paths["duckdb"], result.manifest), paths["duckdb"], paths["exports"], seconds, paths["report"])
        return
    with console.status("Building the warehouse (dbt build), then the report..."):
        built = _build(paths["lake"], paths["duckdb"], paths["exports"], checked_actions)
        seconds["dbt build"] = built.seconds
        _, seconds["report"] = _report(paths)
    if as_json:
        print(json.dumps(_run_result(result, built=True, duckdb=str(built.duckdb_path), exports=str(built.exports_dir),
                                     report=str(paths["report"]), seconds=seconds)))
        return
    if one_line:
        t = result.manifest["totals"]
        console.print(f"{time.strftime('%H:%M:%S')} run {result.run_id}: read {t['read']:,}, good {t['good']:,}, failed {t['failed']:,}, "
                      f"written {t['written']:,}; built in {sum(seconds.values()):.1f} s; {_freshness_line(built.duckdb_path)}",
                      highlight=False, soft_wrap=True)
        return
    _print_quarantined(result.manifest)
    render(console, collect(built.duckdb_path, result.manifest), built.duckdb_path, built.exports_dir, seconds, paths["report"])


@cli.command(help="Read the files behind failed records again, with the adapters and configuration as they are now; "
                  "what a file gave before is replaced, so replaying twice adds nothing.")
@click.option("--input", "input_dir", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw")
@click.option("--touchpoint", default=None, help="Only failed records of this touchpoint (input folder).")
@click.option("--error-type", default=None, help="Only failed records of this error type (e.g. unknown_touchpoint).")
@click.option("--dry-run", is_flag=True, help="List what would be replayed and stop.")
@warehouse_option
@taxonomy_option
@touchpoints_option
@identity_option
@actions_option
@chunk_option
@tiers_option
def replay(input_dir: str, touchpoint: str | None, error_type: str | None, dry_run: bool, warehouse: str,
           taxonomy: str | None, touchpoints: str | None, identity: str | None, actions: str | None, chunk_mb: float,
           tiers: str) -> None:
    from rich.table import Table

    from pipelines.replay import failed_files, replay_globs

    paths = _paths(warehouse)
    if not (paths["lake"] / "current").exists():
        raise CxError(f"{paths['lake']}/current: nothing published yet; run `cx run` first")
    files = failed_files(paths["lake"] / "current", input_dir, touchpoint, error_type)
    if not files:
        console.print("no failed records match; nothing to replay")
        return
    listing = Table(title="Failed records to replay, by source file")
    for column in ("file", "failed", "error types", "file still there"):
        listing.add_column(column, justify="right" if column == "failed" else "left")
    for f in files:
        listing.add_row(f.path, f"{f.failed:,}", ", ".join(f.error_types), "yes" if f.exists else "no: cannot replay")
    console.print(listing)
    globs = replay_globs(files)
    if dry_run:
        return
    if not globs:
        raise CxError("the files behind these failed records are gone from the input; nothing can be replayed")
    scope = {"full": False, "reprocess": tuple(globs), "reprocess_from": None, "reprocess_to": None}
    with _one_run_at_a_time(warehouse):
        _replay(input_dir, files, scope, paths, taxonomy, chunk_mb, tiers, touchpoints, identity, actions)


def _replay(input_dir, files, scope, paths, taxonomy, chunk_mb, tiers, touchpoints, identity, actions) -> None:
    result = _ingest(input_dir, paths["lake"], taxonomy, chunk_mb, 0, tiers, (), scope, touchpoints, identity)
    replayed = {f.path for f in files if f.exists}
    counted = [f for f in result.manifest["files"] if f["file"] in replayed]
    good, failed = sum(f["good"] for f in counted), sum(f["failed"] for f in counted)
    console.print(f"replayed {len(counted)} files ({sum(f.failed for f in files if f.exists):,} failed records before): "
                  f"now {good:,} good, {failed:,} still failed; run {result.run_id} published")
    built = _build(paths["lake"], paths["duckdb"], paths["exports"], _actions(actions, input_dir, taxonomy))
    console.print(f"warehouse rebuilt in {built.seconds:.1f}s: {built.duckdb_path}")


@cli.command("eval-tags", help="Measure reason tagging on a labeled JSONL file: accuracy, macro-F1, coverage, texts/s.")
@taxonomy_option
@click.option("--labeled", type=click.Path(dir_okay=False), required=True, help="JSON Lines, one labeled text per line.")
@click.option("--text-field", default="utterance", show_default=True)
@click.option("--label-field", default="intent", show_default=True)
@click.option("--tiers", default="rules,examples", show_default=True, help="Comma-separated: rules, examples, embeddings.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--compare-tiers", default=None, help="A second tier setting, measured on the same texts and shown side by side.")
@click.option("--compare-taxonomy", type=click.Path(file_okay=False), default=None,
              help="A second taxonomy folder, measured on the same texts with the same tiers and shown side by side.")
def eval_tags(taxonomy: str | None, labeled: str, text_field: str, label_field: str, tiers: str, as_json: bool,
              compare_tiers: str | None, compare_taxonomy: str | None) -> None:
    import json

    from transforms.tagging import TIERS, TaxonomyError, load_taxonomy
    from transforms.tagging.encoder import EncoderUnavailable
    from transforms.tagging.evaluate import LabeledFileError, evaluate, read_labeled

    def tier_setting(value: str, flag: str) -> tuple[str, ...]:
        chosen = tuple(t.strip() for t in value.split(",") if t.strip())
        if not chosen or set(chosen) - set(TIERS):
            raise click.BadParameter(f"choose from {', '.join(TIERS)}, not {value!r}", param_hint=f"'{flag}'")
        return chosen

    if compare_tiers and compare_taxonomy:
        raise click.UsageError("compare either --compare-tiers or --compare-taxonomy, not both")
    settings = {"": (taxonomy, tier_setting(tiers, "--tiers"))}
    if compare_tiers:
        settings = {tiers: settings[""], compare_tiers: (taxonomy, tier_setting(compare_tiers, "--compare-tiers"))}
    elif compare_taxonomy:
        settings = {taxonomy or "default taxonomy": settings[""], compare_taxonomy: (compare_taxonomy, settings[""][1])}
    try:
        texts, labels = read_labeled(labeled, text_field, label_field)
        results = {name: evaluate(load_taxonomy(folder), texts, labels, chosen) for name, (folder, chosen) in settings.items()}
    except (TaxonomyError, LabeledFileError, EncoderUnavailable) as exc:
        raise CxError(str(exc)) from None
    if as_json:
        print(json.dumps(results[""] if "" in results else results))
        return
    from pipelines.summary import render_comparison, render_evaluation

    if "" in results:
        render_evaluation(console, results[""])
    else:
        render_comparison(console, results)


@cli.group(help="Reason tagging: learn from the labels a team already has.")
def tags() -> None:
    pass


@tags.command("train", help="Learn reasons from labeled contacts (a JSONL or CSV file, or the lake's contacts whose reason came "
                            "from an agent's code or a ticket tag); measures the gain on a held-out share first.")
@taxonomy_option
@click.option("--labeled", type=click.Path(dir_okay=False), default=None, help="JSON Lines or CSV, one labeled text per row.")
@click.option("--from-lake", is_flag=True, help="Learn from the published contacts whose reason came from a source code.")
@warehouse_option
@click.option("--text-field", default="utterance", show_default=True)
@click.option("--label-field", default="intent", show_default=True, help="A reason code, or a source code the taxonomy maps.")
@click.option("--tiers", default="rules,examples,embeddings", show_default=True, help="The tiers the gain is measured with.")
@click.option("--holdout", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True)
@click.option("--per-reason", type=click.IntRange(1, 5000), default=200, show_default=True, help="Learned examples kept per reason.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def tags_train(taxonomy: str | None, labeled: str | None, from_lake: bool, warehouse: str, text_field: str, label_field: str,
               tiers: str, holdout: float, per_reason: int, as_json: bool) -> None:
    import json

    from transforms.tagging import TIERS, TaxonomyError
    from transforms.tagging.encoder import EncoderUnavailable
    from transforms.tagging.evaluate import LabeledFileError, read_labeled
    from transforms.tagging.learn import train
    from transforms.tagging.taxonomy import DEFAULT_TAXONOMY

    if bool(labeled) == from_lake:
        raise click.UsageError("give either --labeled FILE or --from-lake")
    chosen = tuple(t.strip() for t in tiers.split(",") if t.strip())
    if not chosen or set(chosen) - set(TIERS):
        raise click.BadParameter(f"choose from {', '.join(TIERS)}, not {tiers!r}", param_hint="'--tiers'")
    try:
        texts, labels = read_labeled(labeled, text_field, label_field) if labeled else _coded_contacts(warehouse)
        report = train(taxonomy or DEFAULT_TAXONOMY, texts, labels, chosen, holdout, per_reason)
    except (TaxonomyError, LabeledFileError, EncoderUnavailable) as exc:
        raise CxError(str(exc)) from None
    if as_json:
        print(json.dumps(report))
        return
    console.print(f"{report['used']:,} of {report['labeled']:,} labeled texts used; {sum(report['learned_examples'].values()):,} "
                  f"examples learned for {len(report['learned_examples'])} reasons -> {report['file']}", markup=False)
    if report["labels_not_in_taxonomy"]:
        console.print("labels the taxonomy does not know: " + ", ".join(report["labels_not_in_taxonomy"][:20]), markup=False)
    if "before" in report:
        before, after = report["before"], report["after"]
        console.print(f"on {report['held_out']:,} held-out labeled texts ({', '.join(report['tiers'])}): accuracy "
                      f"{before['accuracy']:.3f} -> {after['accuracy']:.3f}, macro-F1 {before['macro_f1']:.3f} -> {after['macro_f1']:.3f}")


def _coded_contacts(warehouse: str) -> tuple[list[str], list[str]]:
    """Texts of published contacts whose reason came from a source code, with that reason."""
    import duckdb

    current = _paths(warehouse)["lake"] / "current"
    if not current.exists():
        raise CxError(f"{current}: nothing published yet; run `cx run` first")
    rows = duckdb.connect().execute(
        "select text, reason_code from read_parquet(?, hive_partitioning = false) "
        "where reason_method = 'code' and text is not null and trim(text) <> ''",
        [str(current / "interactions" / "**" / "*.parquet")]).fetchall()
    if not rows:
        raise CxError("no published contact has both a text and a reason from a source code to learn from")
    return [t for t, _ in rows], [r for _, r in rows]


@cli.command(help="Build the dbt docs site (models, columns, definitions, lineage, exposures) as one offline HTML file.")
@warehouse_option
def docs(warehouse: str) -> None:
    from pipelines.warehouse import WarehouseError, generate_docs

    paths = _paths(warehouse)
    if not paths["duckdb"].exists():
        raise CxError(f"{paths['duckdb']}: no warehouse yet; run `cx run` first")
    try:
        index = generate_docs(paths["lake"] / "current", paths["duckdb"], Path(warehouse) / "docs")
    except WarehouseError as exc:
        raise CxError(str(exc)) from None
    console.print(f"docs written: {index} (open it in a browser; no server needed)")


@cli.command(help="Write the HTML report (charts of every mart, offline, one file) and print its path.")
@warehouse_option
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Where to write it (default: <warehouse>/report.html).")
def report(warehouse: str, out: str | None) -> None:
    path, seconds = _report(_paths(warehouse), Path(out) if out else None)
    console.print(f"report written: {path} ({path.stat().st_size / 1024:,.0f} KB, {seconds:.1f} s; opens from disk, no network)")


@cli.command(help="Serve the marts as a live dashboard (Streamlit, http://localhost:8501) until Ctrl-C.")
@warehouse_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
def dashboard(warehouse: str, port: int) -> None:
    import subprocess

    app = Path(__file__).with_name("dashboard.py")  # a Streamlit script: run by Streamlit, never imported
    if not _paths(warehouse)["duckdb"].exists():
        raise CxError(f"{_paths(warehouse)['duckdb']}: no warehouse yet; run `cx run` first")
    try:
        subprocess.run([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                        "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--warehouse", warehouse],
                       check=False)
    except KeyboardInterrupt:
        pass


@cli.command(help="Take touchpoint events over HTTP (Segment, Stripe, Zendesk, Intercom, any JSON with a token) into "
                  "landing files the batch job reads; secrets from CX_COLLECT_* variables. Ctrl-C stops.")
@click.option("--input", "input_dir", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 behind a proxy or balancer).")
@click.option("--port", type=click.IntRange(1, 65535), default=8787, show_default=True)
@click.option("--max-connections", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Open connections and requests in flight; over it, 503.")
@click.option("--rate", type=click.FloatRange(min=0.1), default=2000.0, show_default=True, help="Requests per second per sender key.")
@click.option("--max-body-kb", type=click.IntRange(min=1), default=1024, show_default=True, help="Largest webhook or event body.")
@click.option("--rotate-mb", type=click.FloatRange(min=0.001), default=64.0, show_default=True)
@click.option("--rotate-seconds", type=click.FloatRange(min=0.1), default=60.0, show_default=True)
@touchpoints_option
def collect(input_dir: str, host: str, port: int, max_connections: int, rate: float, max_body_kb: int, rotate_mb: float,
            rotate_seconds: float, touchpoints: str | None) -> None:
    import uvicorn

    from pipelines.collect import CollectorConfig, create_app
    from transforms.sources import AdapterConfigError, load_adapters

    try:
        folders = frozenset(load_adapters(touchpoints))
    except AdapterConfigError as exc:
        raise CxError(str(exc)) from None
    config = CollectorConfig.from_env(Path(input_dir), folders, rate_per_key=rate, burst_per_key=2 * rate,
                                      max_body_bytes=max_body_kb * 1024, rotate_bytes=int(rotate_mb * 1024 * 1024),
                                      rotate_seconds=rotate_seconds)
    offered = [name for name, on in (("segment", config.segment_write_keys), ("stripe", config.stripe_secrets),
                                     ("zendesk", config.zendesk_secret), ("intercom", config.intercom_secret),
                                     ("events", config.bearer_tokens)) if on]
    if not offered:
        raise CxError("no endpoint has a secret: set CX_COLLECT_SEGMENT_WRITE_KEYS, CX_COLLECT_STRIPE_SECRETS, "
                      "CX_COLLECT_ZENDESK_SECRET, CX_COLLECT_INTERCOM_SECRET or CX_COLLECT_TOKENS")
    console.print(f"collecting into {input_dir}/ on http://{host}:{port} ({', '.join(offered)}); /health, /metrics", highlight=False)
    uvicorn.run(create_app(config), host=host, port=port, limit_concurrency=max_connections, log_level="warning",
                timeout_graceful_shutdown=10)


@cli.command(help="Check every configuration file and the input layout without running anything.")
@click.option("--input", "input_dir", type=click.Path(file_okay=False), default=lambda: default_path("data/raw"), show_default="<project>/data/raw")
@taxonomy_option
@touchpoints_option
@identity_option
@actions_option
def check(input_dir: str, taxonomy: str | None, touchpoints: str | None, identity: str | None, actions: str | None) -> None:
    from collections import Counter

    from transforms.framing import detect_layout
    from transforms.identity import IdentityConfigError, load_identity
    from transforms.read import list_input, touchpoint_of
    from transforms.sources import AdapterConfigError, load_adapters

    try:
        adapters = load_adapters(touchpoints)
        load_identity(identity)
    except (AdapterConfigError, IdentityConfigError) as exc:
        raise CxError(str(exc)) from None
    checked = _actions(actions, input_dir, taxonomy)
    console.print(f"configuration: {len(adapters)} touchpoint folders, {sum(map(len, adapters.values()))} adapters, "
                  f"taxonomy, identity guards and {checked.num_rows} actions: all valid")
    listing = list_input(input_dir)
    if not listing.files:
        raise CxError(f"{input_dir}: no input files (expected {input_dir}/<touchpoint>/<file>)")
    by_folder: dict[str, Counter] = {}
    for path, _ in listing.files:
        try:
            kind = detect_layout(path).describe()
        except OSError as exc:
            kind = f"unreadable ({exc})"
        by_folder.setdefault(touchpoint_of(path, input_dir) or "", Counter())[kind] += 1
    for folder, kinds in sorted(by_folder.items()):
        known = "" if folder in adapters else "  (no adapter: its records will fail as unknown_touchpoint)"
        console.print(f"  {folder}/: " + "; ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + known, markup=False)
    for path, reason in listing.skipped:
        console.print(f"  skipped {path}: {reason}", markup=False)
    console.print(f"input: {len(listing.files):,} files to read, {len(listing.skipped):,} skipped")


@cli.command(help="Show how a file will be framed, which adapter takes its records and the first record mapped; "
                  "nothing is written.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--touchpoint", default=None, help="The folder whose adapters read it (default: the file's parent folder).")
@touchpoints_option
@click.option("--records", type=click.IntRange(min=1), default=1000, show_default=True, help="Records read from the start.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def inspect(file: str, touchpoint: str | None, touchpoints: str | None, records: int, as_json: bool) -> None:
    import json

    from rich.table import Table

    from pipelines.inspect import inspect_file
    from transforms.sources import AdapterConfigError, load_adapters

    try:
        adapters = load_adapters(touchpoints)
    except AdapterConfigError as exc:
        raise CxError(str(exc)) from None
    folder = touchpoint or Path(file).resolve().parent.name
    if folder not in adapters:
        raise CxError(f"no adapters for folder {folder!r}; known: {', '.join(sorted(adapters))} (use --touchpoint)")
    report = inspect_file(file, folder, adapters[folder], records)
    if as_json:
        print(json.dumps(report, default=str))
        return
    console.print(f"[bold]{file}[/bold]: {report['framing']}; {report['records_read']:,} records read"
                  + (f", {report['skipped_messages']} protocol messages skipped" if report["skipped_messages"] else ""))
    if report["streams"] and any(report["streams"]):
        console.print("streams: " + ", ".join(f"{k or '(none)'} {v:,}" for k, v in report["streams"].items()))
    console.print("adapters: " + ", ".join(f"{k} {v:,}" for k, v in report["adapters"].items()))
    if report["records_read"]:
        console.print(f"good {report['good']:,}, failed {report['failed']:,}"
                      + ("".join(f"; {k} {v:,}" for k, v in report["failures"].items())))
    if "first_record" in report:
        table = Table(title="First good record, mapped", show_header=False)
        for key, value in report["first_record"].items():
            table.add_row(key, "" if value is None else str(value))
        console.print(table)
    if "first_failure" in report:
        f = report["first_failure"]
        console.print(f"first failure: line {f['source_line']}: {f['error_type']}: {f['error_message']}", markup=False)


@cli.command(help="Run one SQL query on the warehouse (read-only) and print the result.")
@click.argument("sql")
@warehouse_option
def query(sql: str, warehouse: str) -> None:
    import duckdb

    from pipelines.warehouse import open_warehouse

    path = _paths(warehouse)["duckdb"]
    if not path.exists():
        raise CxError(f"{path}: no warehouse yet; run `cx run` first")
    try:
        con = open_warehouse(path)
    except duckdb.IOException as exc:  # another process writes the file (dbt, a BI tool in write mode)
        holder = re.search(r"PID (\d+)", str(exc))
        raise CxError(f"{path}: another process{f' (pid {holder.group(1)})' if holder else ''} holds the file; "
                      "try again when it has finished") from None
    try:
        print(con.sql(sql))
    except duckdb.Error as exc:
        raise CxError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors are one line on stderr and a non-zero exit code, never a traceback."""
    _configure_logging()
    try:
        cli.main(args=argv, prog_name="cx", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        console.print(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli, info_name="cx")))
        return 0
    except click.ClickException as exc:
        err_console.print(f"cx: error: {exc.format_message()}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt):
        err_console.print("cx: interrupted", highlight=False)
        return 130
    except CxError as exc:
        err_console.print(f"cx: error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if os.environ.get("CX_DEBUG"):
            raise
        err_console.print(f"cx: error: {describe_failure(exc)}", highlight=False, markup=False, soft_wrap=True)
        return 1
    return 0


# errno values that mean the disk (or the process's file-size limit) has no room for what is written
NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NO_ROOM_TEXT = re.compile("|".join(re.escape(os.strerror(code)) for code in NO_ROOM))


def describe_failure(exc: BaseException) -> str:
    """One line for an error nobody raised on purpose: a full disk says so, anything else names itself.

    Beam re-raises a worker's error as RuntimeError('OSError: [Errno 28] ... [while running 'Step']'),
    so the errno is looked for in the message too, not only in the exception's chain."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if any(getattr(e, "errno", None) in NO_ROOM for e in chain) or _NO_ROOM_TEXT.search(text):
        return (f"no room left to write ({first[:200]}); what was published is unchanged. Free disk space "
                "(or raise the file size limit) and run again")
    if isinstance(exc, (OSError, ValueError)):
        return f"{type(exc).__name__}: {first[:300]}"
    return (f"unexpected {type(exc).__name__}: {first[:300]}; what was published is unchanged "
            "(set CX_DEBUG=1 to see the traceback)")


if __name__ == "__main__":
    sys.exit(main())
