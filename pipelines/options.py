"""Options of the ingest job, as Beam PipelineOptions so runners and flags mix as users expect."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.home import default_path


class IngestOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--input", default=default_path("data/raw"),
                            help="Raw input root: one folder per touchpoint (web, app, call_center, email, chat, survey, billing).")
        parser.add_argument("--output", default=default_path("data/warehouse/lake"),
                            help="Lake root: runs/<run_id>/ holds each run; 'current' points at the published one.")
        parser.add_argument("--touchpoints", default=None,
                            help="YAML mapping input folders to adapters (default: data/config/touchpoints.yml).")
        parser.add_argument("--identity", default=None,
                            help="Identity stitching guards: blocked values and per-type limits (default: data/config/identity.yml).")
        parser.add_argument("--taxonomy", default=None,
                            help="Folder with reasons.yml, outcomes.yml and phases.yml (default: the shipped taxonomy).")
        parser.add_argument("--chunk_mb", type=float, default=8.0,
                            help="Size of the file chunks that are parsed as one Arrow table.")
        parser.add_argument("--buckets", type=int, default=0,
                            help="Dedup buckets: shards of interaction ids processed one at a time (0: one per --bucket_mb of input).")
        parser.add_argument("--bucket_mb", type=float, default=32.0,
                            help="Raw input per bucket when --buckets is 0; bounds the memory of the dedup step.")
        parser.add_argument("--run_id", default=None, help="Name of this run (default: UTC time + random suffix).")
        parser.add_argument("--keep_runs", type=int, default=3, help="Published runs kept on disk.")
        parser.add_argument("--tiers", default="rules,examples",
                            help="Reason tagging tiers: rules, examples, embeddings (the last needs the 'embeddings' extra).")
        parser.add_argument("--full", action="store_true",
                            help="Read every input file again into a fresh run, ignoring what is published.")
        parser.add_argument("--reprocess", action="append", default=None, metavar="GLOB",
                            help="Read the files matching GLOB (relative to --input) again, replacing what they gave before. Repeatable.")
        parser.add_argument("--reprocess_from", default=None, metavar="YYYY-MM-DD",
                            help="Read again every file that gave published records on or after this day (backfill).")
        parser.add_argument("--reprocess_to", default=None, metavar="YYYY-MM-DD",
                            help="With or without --reprocess_from: every file that gave records on or before this day.")
        parser.add_argument("--no_gate", action="store_true",
                            help="Write the run but skip the quality gate and do not publish it (benchmarks, debugging).")
