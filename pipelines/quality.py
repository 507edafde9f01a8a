"""The quality gate: Great Expectations checks on a run's output before it is published.

The run's Parquet is validated as pandas frames in an ephemeral context (no files, no network), one
write group at a time (the part-NNNNN files of all its days), so memory stays bounded by the group
size; uniqueness of interaction_id across the whole run is checked by DuckDB, which spills. The run
manifest is checked too: every file must reconcile (read = good + failed) and the share of failed
records must stay under a threshold. A failing gate names each failed expectation.

Each run keeps what its gate found, to look back on: <run>/quality/gate.json (the verdict, the
failures, and Great Expectations' validation result of every write group) and, on a local disk, Great
Expectations' data docs of those validations (<run>/quality/docs/index.html).
"""

from __future__ import annotations

import json
import posixpath
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyarrow.dataset as ds
from apache_beam.io.filesystems import FileSystems

from transforms.schema import CHANNEL_TYPES, JOURNEY_PHASES, OUTCOMES, PHASE_SIGNALS, TOUCHPOINTS
from transforms.tagging import Taxonomy

MAX_FAILED_SHARE = 0.05
# Below this many records a failed share says little (1 of 3 is 33%): it is judged from here on.
MIN_RECORDS_FOR_SHARE = 100
GATE_COLUMNS = ["interaction_id", "customer_id", "occurred_at", "touchpoint", "channel_type", "outcome",
                "journey_phase", "phase_signal", "reason_code", "reason_confidence", "ces", "csat", "nps"]


@dataclass
class GateResult:
    success: bool
    checked: int
    failures: list[str] = field(default_factory=list)
    rows: int = 0


def _suite(gx, taxonomy: Taxonomy, touchpoints: list[str]):
    E = gx.expectations
    reason_codes = [r.code for r in taxonomy.reasons] + ["unknown"]
    suite = gx.ExpectationSuite(name="interactions")
    for expectation in [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="interaction_id"),
        E.ExpectColumnValuesToBeUnique(column="interaction_id"),
        E.ExpectColumnValuesToNotBeNull(column="customer_id"),
        E.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        E.ExpectColumnValuesToBeInSet(column="touchpoint", value_set=touchpoints),
        E.ExpectColumnValuesToBeInSet(column="channel_type", value_set=list(CHANNEL_TYPES)),
        E.ExpectColumnValuesToBeInSet(column="outcome", value_set=list(OUTCOMES)),
        E.ExpectColumnValuesToBeInSet(column="journey_phase", value_set=list(JOURNEY_PHASES)),
        E.ExpectColumnValuesToBeInSet(column="phase_signal", value_set=list(PHASE_SIGNALS)),
        E.ExpectColumnValuesToBeInSet(column="reason_code", value_set=reason_codes),
        E.ExpectColumnValuesToBeBetween(column="reason_confidence", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="ces", min_value=1, max_value=7),
        E.ExpectColumnValuesToBeBetween(column="csat", min_value=1, max_value=5),
        E.ExpectColumnValuesToBeBetween(column="nps", min_value=0, max_value=10),
    ]:
        suite.add_expectation(expectation)
    return suite


def _describe(config, unexpected: int | None, observed, examples: list) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "value_set")}
    where = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    detail = f": {unexpected} unexpected" if unexpected is not None else f": observed {observed}"
    if examples:
        detail += f", e.g. {examples[:3]}"
    return f"{config.type}({where}){detail}"


def _internal_errors(failed_dir: str | None) -> list[str]:
    """A record that failed through a fault of the job, not of the data, blocks publishing."""
    if not failed_dir:
        return []
    table = ds.dataset(failed_dir, format="parquet").to_table(columns=["error_type", "error_message", "source_file"],
                                                              filter=ds.field("error_type") == "internal_error")
    return [f"internal error while reading {f}: {m}" for f, m in
            zip(table["source_file"].to_pylist()[:3], table["error_message"].to_pylist()[:3])]


def _fs_path(path: str) -> str:
    """A path as pyarrow's file system of it names it: gs://bucket/key -> bucket/key; a local path as is."""
    return path.split("://", 1)[1] if "://" in path else path


def _repeated_ids(files: list[str], filesystem=None) -> int:
    """Ids that appear more than once. DuckDB counts (within its memory limit, spilling beyond it) while
    pyarrow reads the files, from a local disk or an object store alike."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "512MB"})
    con.register("run_ids", ds.dataset(list(files), format="parquet", filesystem=filesystem).scanner(columns=["interaction_id"]))
    return con.execute("select count(*) - count(distinct interaction_id) from run_ids").fetchone()[0]


def check_manifest(manifest: dict, max_failed_share: float = MAX_FAILED_SHARE) -> list[str]:
    """Every file reconciles; the files that were not quarantined fail under the threshold, together."""
    failures = []
    for f in manifest["files"]:
        if f["read"] != f["good"] + f["failed"]:
            failures.append(f"manifest: {f['file']} read {f['read']} != good {f['good']} + failed {f['failed']}")
    kept = [f for f in manifest["files"] if not f.get("quarantined")]
    read, failed = sum(f["read"] for f in kept), sum(f["failed"] for f in kept)
    if read >= MIN_RECORDS_FOR_SHARE and failed / read > max_failed_share:
        worst = sorted(kept, key=lambda f: f["failed"], reverse=True)[:3]
        failures.append(f"manifest: {failed} of {read} records failed, over {max_failed_share:.0%} (most in "
                        + ", ".join(f"{f['file']}: {f['failed']}" for f in worst) + ")")
    return failures


def run_gate(interactions_dir: str, manifest_path: str, taxonomy: Taxonomy,
             max_failed_share: float = MAX_FAILED_SHARE, failed_dir: str | None = None,
             only: list[str] | None = None, touchpoints: list[str] | None = None,
             results_dir: str | None = None) -> GateResult:
    """Validate a run before publishing it; with `results_dir`, keep the results there (see above).

    With `only`, the expectations run on those files (what this run wrote; carried files passed the
    gate of the run that wrote them); ids must still be unique across the whole run."""
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with FileSystems.open(manifest_path) as handle:
        manifest = json.loads(handle.read())
    failures = check_manifest(manifest, max_failed_share)
    dataset = ds.dataset(interactions_dir, format="parquet", partitioning="hive")  # local, gs:// or s3://
    buckets = defaultdict(list)
    for path in dataset.files if only is None else sorted({_fs_path(p) for p in only}):
        buckets[PurePosixPath(path).name].append(path)
    if not dataset.files:
        return _kept(GateResult(False, 1, failures + ["no interactions were written"], 0), [], results_dir)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs = _local_docs_site(context, results_dir)
    asset = context.data_sources.add_pandas("cx").add_dataframe_asset("interactions")
    batch = asset.add_batch_definition_whole_dataframe("bucket")
    suite = context.suites.add(_suite(gx, taxonomy, sorted(touchpoints or TOUCHPOINTS)))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name="gate", data=batch, suite=suite))
    failed: dict[str, list] = {}
    rows = checked = 0
    validations = []
    for name in sorted(buckets):
        frame = ds.dataset(buckets[name], format="parquet", partitioning="hive", partition_base_dir=_fs_path(interactions_dir),
                           filesystem=dataset.filesystem).to_table(columns=GATE_COLUMNS).to_pandas()
        rows += len(frame)
        result = validation.run(batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=name))
        validations.append({"write_group": name, "rows": len(frame), "result": result.to_json_dict()})
        checked = len(result.results)
        for r in result.results:
            if r.success:
                continue
            key = r.expectation_config.type + repr(sorted((k, str(v)) for k, v in r.expectation_config.kwargs.items() if k != "batch_id"))
            seen = failed.setdefault(key, [r.expectation_config, 0, None, []])
            seen[1] += r.result.get("unexpected_count") or 0
            seen[2] = r.result.get("observed_value")
            seen[3] += (r.result.get("partial_unexpected_list") or [])[:3]
    failures += [_describe(config, unexpected if unexpected else None, observed, examples)
                 for config, unexpected, observed, examples in failed.values()]
    failures += _internal_errors(failed_dir)
    repeated = _repeated_ids(dataset.files, dataset.filesystem)
    if repeated:
        failures.append(f"interaction_id is not unique across the run: {repeated} ids appear more than once")
    if docs:
        context.build_data_docs(site_names=[DOCS_SITE])
        _trim_docs_site(Path(docs))
    return _kept(GateResult(not failures, checked + 2, failures, rows), validations, results_dir)


DOCS_SITE = "run"


def _local_docs_site(context, results_dir: str | None) -> str | None:
    """Great Expectations' data docs site in <results_dir>/docs, when that is on a local disk; else None."""
    if results_dir is None or FileSystems.get_scheme(results_dir) not in (None, "file"):
        return None
    folder = str(Path(_fs_path(results_dir)) / "docs")
    context.add_data_docs_site(site_name=DOCS_SITE, site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": folder},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    return folder


def _trim_docs_site(folder: Path) -> None:
    """Drop what Great Expectations copies into every site but the pages do not need: its fonts (the styles
    fall back to system fonts) and its tutorial animations, 3.9 of a run's 4.2 MB."""
    shutil.rmtree(folder / "static" / "fonts", ignore_errors=True)
    for animation in (folder / "static" / "images").glob("*.gif"):
        animation.unlink()


def _kept(result: GateResult, validations: list[dict], results_dir: str | None) -> GateResult:
    """Write the gate's verdict and validations to <results_dir>/gate.json (any filesystem), and return it."""
    if results_dir is not None:
        with FileSystems.create(posixpath.join(results_dir, "gate.json")) as handle:
            handle.write(json.dumps({"success": result.success, "checked": result.checked, "rows": result.rows,
                                     "failures": result.failures, "validations": validations}, indent=1, default=str).encode())
    return result
