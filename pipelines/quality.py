"""The quality gate: Great Expectations checks on a run's output before it is published.

The run's Parquet is validated as pandas frames in an ephemeral context (no files, no network). The
run manifest is checked too: every file must reconcile (read = good + failed) and the share of failed
records must stay under a threshold. A failing gate names each failed expectation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow.dataset as ds

from transforms.schema import CHANNEL_TYPES, JOURNEY_PHASES, OUTCOMES, TOUCHPOINTS
from transforms.tagging import Taxonomy

MAX_FAILED_SHARE = 0.05
GATE_COLUMNS = ["interaction_id", "customer_id", "occurred_at", "touchpoint", "channel_type", "outcome",
                "journey_phase", "reason_code", "reason_confidence", "ces", "csat", "nps"]


@dataclass
class GateResult:
    success: bool
    checked: int
    failures: list[str] = field(default_factory=list)
    rows: int = 0


def _suite(gx, taxonomy: Taxonomy):
    E = gx.expectations
    reason_codes = [r.code for r in taxonomy.reasons] + ["unknown"]
    suite = gx.ExpectationSuite(name="interactions")
    for expectation in [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="interaction_id"),
        E.ExpectColumnValuesToBeUnique(column="interaction_id"),
        E.ExpectColumnValuesToNotBeNull(column="customer_id"),
        E.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        E.ExpectColumnValuesToBeInSet(column="touchpoint", value_set=list(TOUCHPOINTS)),
        E.ExpectColumnValuesToBeInSet(column="channel_type", value_set=list(CHANNEL_TYPES)),
        E.ExpectColumnValuesToBeInSet(column="outcome", value_set=list(OUTCOMES)),
        E.ExpectColumnValuesToBeInSet(column="journey_phase", value_set=list(JOURNEY_PHASES)),
        E.ExpectColumnValuesToBeInSet(column="reason_code", value_set=reason_codes),
        E.ExpectColumnValuesToBeBetween(column="reason_confidence", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="ces", min_value=1, max_value=7),
        E.ExpectColumnValuesToBeBetween(column="csat", min_value=1, max_value=5),
        E.ExpectColumnValuesToBeBetween(column="nps", min_value=0, max_value=10),
    ]:
        suite.add_expectation(expectation)
    return suite


def _describe(result) -> str:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "value_set")}
    where = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    unexpected = result.result.get("unexpected_count")
    examples = result.result.get("partial_unexpected_list") or []
    detail = f": {unexpected} unexpected" if unexpected is not None else f": observed {result.result.get('observed_value')}"
    if examples:
        detail += f", e.g. {examples[:3]}"
    return f"{config.type}({where}){detail}"


def check_manifest(manifest: dict, max_failed_share: float = MAX_FAILED_SHARE) -> list[str]:
    failures = []
    for f in manifest["files"]:
        if f["read"] != f["good"] + f["failed"]:
            failures.append(f"manifest: {f['file']} read {f['read']} != good {f['good']} + failed {f['failed']}")
    totals = manifest["totals"]
    if totals["read"] and totals["failed"] / totals["read"] > max_failed_share:
        failures.append(f"manifest: {totals['failed']} of {totals['read']} records failed, over {max_failed_share:.0%}")
    return failures


def run_gate(interactions_dir: str, manifest_path: str, taxonomy: Taxonomy,
             max_failed_share: float = MAX_FAILED_SHARE) -> GateResult:
    """Validate a run before publishing it."""
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with open(manifest_path) as f:
        manifest = json.load(f)
    failures = check_manifest(manifest, max_failed_share)
    frame = ds.dataset(interactions_dir, format="parquet", partitioning="hive").to_table(columns=GATE_COLUMNS).to_pandas()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("cx").add_dataframe_asset("interactions")
    batch = asset.add_batch_definition_whole_dataframe("run")
    suite = context.suites.add(_suite(gx, taxonomy))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name="gate", data=batch, suite=suite))
    result = validation.run(batch_parameters={"dataframe": frame})
    failures += [_describe(r) for r in result.results if not r.success]
    return GateResult(not failures, len(result.results) + 2, failures, len(frame))
