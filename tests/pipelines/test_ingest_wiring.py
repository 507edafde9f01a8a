"""The Beam wiring: TestPipeline + assert_that on small inline files."""

from dataclasses import replace
from datetime import datetime, timezone

import apache_beam as beam
import pyarrow.dataset as ds
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.ingest import LOCAL_RUNNER
from tests.conftest import write
from transforms.read import ReadTouchpoints, SumCounts, list_input_files
from transforms.schema import SCHEMA_VERSION
from transforms.tagging import load_taxonomy

SAMPLE_WEB = (
    '{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-02-10T10:00:00Z","properties":{"path":"/pricing"}}\n'
    '{"messageId":"m2","type":"identify","anonymousId":"a1","userId":"C1","timestamp":"2026-02-11T10:00:00Z"}\n'
    '{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-02-10T10:00:00Z","properties":{"path":"/pricing"}}\n'
    '{"messageId":"m4","type":"page",\n'
)
SAMPLE_CALLS = (
    "ContactId,CustomerAccount,InitiationTimestamp,ReasonCode,DispositionCode,CustomerStatement\n"
    "k1,C1,2026-02-12T09:00:00+01:00,,RESOLVED,I was charged twice\n"
    "k2,C1,2026-02-12T09:00:00+01:00\n"
)


def make_input(tmp_path):
    write(tmp_path, "web", "events.jsonl", SAMPLE_WEB)
    write(tmp_path, "call_center", "contacts.csv", SAMPLE_CALLS)
    write(tmp_path, "fax", "old.txt", "a fax\n")
    write(tmp_path, "", "_truth.json", "{}")
    return str(tmp_path)


def test_list_input_files_skips_bookkeeping_and_loose_files(tmp_path):
    root = make_input(tmp_path)
    assert [(p[len(root) + 1:], size) for p, size in list_input_files(root)] == [
        ("call_center/contacts.csv", len(SAMPLE_CALLS)), ("fax/old.txt", 6), ("web/events.jsonl", len(SAMPLE_WEB))]


def test_read_touchpoints_counts_every_record_of_every_file(tmp_path):
    root = make_input(tmp_path)
    files = [path for path, _ in list_input_files(root)]
    with TestPipeline(runner=LOCAL_RUNNER) as p:
        out = p | beam.Create(files) | ReadTouchpoints(root, chunk_bytes=64)
        counted = out["counts"] | "Sum" >> beam.CombinePerKey(SumCounts()) | "Fates" >> beam.Map(lambda kv: (kv[0], kv[1][:4]))
        assert_that(counted, equal_to([
            (f"{root}/web/events.jsonl", (4, 3, 1, 0)),
            (f"{root}/call_center/contacts.csv", (2, 1, 1, 0)),
            (f"{root}/fax/old.txt", (1, 0, 1, 0)),
        ]), label="CheckCounts")
        failed = out["failed"] | "AllFailed" >> beam.Flatten() | "FailedRows" >> beam.FlatMap(
            lambda t: zip(t["source_file"].to_pylist(), t["source_line"].to_pylist(), t["error_type"].to_pylist()))
        assert_that(failed, equal_to([
            (f"{root}/web/events.jsonl", 4, "malformed_json"),
            (f"{root}/call_center/contacts.csv", 3, "csv_column_count"),
            (f"{root}/fax/old.txt", 1, "unknown_touchpoint"),
        ]), label="CheckFailed")
        links = out["links"] | "Links" >> beam.FlatMap(lambda t: zip(*t.to_pydict().values()))
        assert_that(links, equal_to([("account:C1", "anon:a1", f"{root}/web/events.jsonl")]), label="CheckLinks")


class WordEncoder:
    """A stand-in sentence encoder for the wiring test: normalised bag of hashed words."""

    def encode(self, texts, **_):
        import zlib

        import numpy as np

        out = np.zeros((len(texts), 512))
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.strip("?,.!").encode()) % 512] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def job_spec(root: str, tmp_path, **changes):
    from transforms.identity import load_identity
    from transforms.job import JobSpec
    from transforms.sources import default_adapters

    spec = JobSpec(root, str(tmp_path / "lake"), "run-1", datetime(2026, 3, 1, tzinfo=timezone.utc), default_adapters(),
                   load_identity(), load_taxonomy(), salt="test-salt", demo_salt=False, chunk_bytes=1 << 20, buckets=2, key_buckets=2)
    return replace(spec, **changes)


def test_open_texts_go_through_run_inference_and_are_written(tmp_path):
    from transforms.job import IngestInteractions
    from transforms.tagging.embeddings import ReasonEmbeddingHandler

    taxonomy = load_taxonomy()
    calls = (
        "ContactId,CustomerAccount,InitiationTimestamp,ReasonCode,DispositionCode,CustomerStatement\n"
        "k1,C1,2026-02-12T09:00:00+01:00,,RESOLVED,I was charged twice\n"
        "k2,C2,2026-02-12T10:00:00+01:00,,RESOLVED,please cancel membership today\n"
        "k3,C3,2026-02-13T10:00:00+01:00,,RESOLVED,qwerty asdf\n"
    )
    root = str(tmp_path / "raw")
    write(tmp_path / "raw", "call_center", "contacts.csv", calls)
    files = [path for path, _ in list_input_files(root)]
    examples = {r.code: list(r.examples) + [r.label] for r in taxonomy.reasons}
    handler = ReasonEmbeddingHandler(examples, encoder=WordEncoder)
    spec = job_spec(root, tmp_path, tiers=("rules", "embeddings"))
    with TestPipeline(runner=LOCAL_RUNNER) as p:
        _ = p | beam.Create(files) | IngestInteractions(spec, embedding_handler=handler)
    table = ds.dataset(tmp_path / "lake" / "runs" / "run-1" / "interactions", format="parquet", partitioning="hive").to_table()
    got = {r["interaction_id"]: (r["reason_code"], r["reason_method"]) for r in table.to_pylist()}
    assert got == {"call_center:k1": ("billing_confusion", "rule"),
                   "call_center:k2": ("cancel_request", "embeddings"),
                   "call_center:k3": ("unknown", None)}
    phase = {r["interaction_id"]: r["journey_phase"] for r in table.to_pylist()}
    assert phase["call_center:k2"] == "part_of_core"  # re-derived from the new reason's hint


def test_corrupt_gzip_and_empty_files_are_counted_not_fatal(tmp_path):
    import gzip

    lines = b"".join(b'{"messageId":"m%d","type":"page","anonymousId":"a","timestamp":"2026-02-10T10:00:00Z"}\n' % i
                     for i in range(2000))
    whole = gzip.compress(lines)
    write(tmp_path, "web", "cut.jsonl.gz", whole[: len(whole) // 2])
    write(tmp_path, "web", "empty.jsonl", b"")
    write(tmp_path, "web", "garbage.jsonl.gz", b"this is not gzip at all\n" * 10)
    root = str(tmp_path)
    files = [path for path, _ in list_input_files(root)]
    with TestPipeline(runner=LOCAL_RUNNER) as p:
        out = p | beam.Create(files) | ReadTouchpoints(root, chunk_bytes=4096)
        counted = out["counts"] | "Sum" >> beam.CombinePerKey(SumCounts()) | "Fates" >> beam.Map(lambda kv: (kv[0], kv[1][:4]))
        reconciled = counted | beam.Map(lambda kv: (kv[0].rsplit("/", 1)[1], kv[1][0] == kv[1][1] + kv[1][2], kv[1][2]))
        assert_that(reconciled, equal_to([("cut.jsonl.gz", True, 1), ("empty.jsonl", True, 0), ("garbage.jsonl.gz", True, 1)]),
                    label="Reconciled")
        kinds = out["failed"] | beam.Flatten() | beam.FlatMap(lambda t: zip(t["source_file"].to_pylist(), t["error_type"].to_pylist()))
        # A gzip cut short loses only its last, partial line; one that is not gzip at all is unreadable.
        assert_that(kinds | beam.Map(lambda k: (k[0].rsplit("/", 1)[1], k[1])),
                    equal_to([("cut.jsonl.gz", "malformed_json"), ("garbage.jsonl.gz", "unreadable_file")]), label="Kinds")


def test_the_listing_reads_only_regular_files_inside_the_input_and_says_what_it_skipped(tmp_path):
    import os

    from transforms.read import list_input

    root = tmp_path / "raw"
    write(root, "web", "events.jsonl", '{"messageId":"m1"}\n')
    for hidden in ("web/_archive", "web/.snapshot/2026"):
        (root / hidden).mkdir(parents=True)
        (root / hidden / "old.jsonl").write_text("{}\n")
    write(root, "web", "inner.jsonl", "{}\n")
    (root / "loose.jsonl").write_text("{}\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text('{"email": "someone@example.org"}\n')
    os.symlink(outside / "secret.jsonl", root / "web" / "secret.jsonl")
    os.symlink(root / "web" / "inner.jsonl", root / "web" / "inside-link.jsonl")
    os.symlink(tmp_path / "nowhere.jsonl", root / "web" / "dangling.jsonl")
    os.symlink(root / "web" / "loop-b.jsonl", root / "web" / "loop-a.jsonl")
    os.symlink(root / "web" / "loop-a.jsonl", root / "web" / "loop-b.jsonl")
    os.symlink(outside, root / "web" / "linked-folder")
    os.mkfifo(root / "web" / "pipe.jsonl")
    listing = list_input(str(root))
    relative = {p[len(str(root)) + 1:]: why for p, why in listing.skipped}
    assert [p[len(str(root)) + 1:] for p, _ in listing.files] == ["web/events.jsonl", "web/inner.jsonl", "web/inside-link.jsonl"]
    assert relative == {
        "loose.jsonl": "file at the input root, outside any touchpoint folder",
        "web/secret.jsonl": "symbolic link leading outside the input",
        "web/dangling.jsonl": "dangling or looping symbolic link",
        "web/loop-a.jsonl": "dangling or looping symbolic link",
        "web/loop-b.jsonl": "dangling or looping symbolic link",
        "web/linked-folder": "a linked folder is not entered",
        "web/pipe.jsonl": "not a regular file (a FIFO, socket or device)",
        "web/_archive": "bookkeeping folder (its name starts with _ or .)",
        "web/.snapshot": "bookkeeping folder (its name starts with _ or .)",
    }


def test_a_worker_with_the_code_but_not_the_data_folder_imports_the_job(tmp_path):
    """Beam workers install the package, not the project's data/ folder: importing the job's modules and
    setting up its steps reads no configuration file (the driver loads it and hands it to the DoFns)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    shutil.copytree(Path(__file__).parents[2] / "transforms", tmp_path / "site" / "transforms")
    # the steps after parsing set up without the salt or the identity guards (which the driver hands to parsing)
    code = ("import transforms.read, transforms.steps as t, transforms.write, transforms.tagging, transforms.sources as s; "
            "assert not s.DEFAULT_TOUCHPOINTS.exists(); t.StageChunk('stage', 1, 1).setup(); t.FindDuplicates('stage').setup(); "
            "t.StagePublishedKeys('stage', 1).setup(); import transforms.identity_graph as g; g.StageEdges('stage', 1).setup(); "
            "g.FindHubs('stage', 1, None, 'links').setup(); g.PassLabels('stage', 1).setup(); g.FinalLabels('stage', 1).setup(); "
            "print('imported')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and "imported" in proc.stdout, proc.stderr[-2000:]


def test_the_whole_job_as_one_transform(tmp_path):
    """IngestInteractions on inline samples: every record of every file counted once, the duplicate
    dropped, the anonymous page view stitched, the broken line and the unknown folder failed, the run's
    files written where the driver expects them, one Parquet file per day."""
    import json

    from transforms.job import IngestInteractions

    root = make_input(tmp_path)
    files = [path for path, _ in list_input_files(root)]
    with TestPipeline(runner=LOCAL_RUNNER) as p:
        out = p | beam.Create(files) | IngestInteractions(job_spec(root, tmp_path))
        counts = out["counts"] | beam.MapTuple(lambda f, c: (f[len(root) + 1:], c[:4]))
        assert_that(counts, equal_to([("web/events.jsonl", (4, 3, 1, 1)), ("call_center/contacts.csv", (2, 1, 1, 0)),
                                      ("fax/old.txt", (1, 0, 1, 0))]), label="CheckCounts")
    run_dir = tmp_path / "lake" / "runs" / "run-1"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["totals"] == {"read": 7, "good": 4, "failed": 3, "duplicates": 1, "written": 3, "skipped": 0}
    assert manifest["pii_salt"] != "demo" and manifest["reconciled"]
    good = ds.dataset(run_dir / "interactions", format="parquet", partitioning="hive").to_table()
    rows = {r["interaction_id"]: r for r in good.to_pylist()}
    assert sorted(rows) == ["call_center:k1", "web:m1", "web:m2"]
    assert {r["customer_id"] for r in rows.values()} == {"C1"}  # the anonymous page view is stitched
    assert rows["call_center:k1"]["reason_code"] == "billing_confusion" and rows["call_center:k1"]["outcome"] == "resolved"
    assert rows["web:m1"]["journey_phase"] == "looking_and_deciding" and rows["web:m1"]["phase_signal"] == "milestone"
    assert rows["web:m1"]["run_id"] == "run-1" and rows["web:m1"]["schema_version"] == SCHEMA_VERSION
    days = sorted(p.parent.name for p in (run_dir / "interactions").rglob("*.parquet"))
    assert days == ["occurred_date=2026-02-10", "occurred_date=2026-02-11", "occurred_date=2026-02-12"]
    failed = ds.dataset(run_dir / "failed", format="parquet").to_table()
    assert sorted(failed["error_type"].to_pylist()) == sorted(["malformed_json", "csv_column_count", "unknown_touchpoint"])
    assert ds.dataset(run_dir / "links", format="parquet").count_rows() == 1 and json.loads((run_dir / "identity_report.json").read_text())["customers"] == 1


def test_a_large_local_run_uses_every_core_unless_told_otherwise():
    import os

    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

    from pipelines.ingest import PARALLEL_LOCAL_BYTES, use_every_core

    def decided(argv, raw_bytes):
        options = PipelineOptions(argv)
        if "--runner" not in argv:
            options.view_as(beam.options.pipeline_options.StandardOptions).runner = "DirectRunner"
        use_every_core(options, raw_bytes, argv)
        direct = options.view_as(DirectOptions)
        return direct.direct_num_workers, direct.direct_running_mode

    assert decided([], PARALLEL_LOCAL_BYTES) == (os.cpu_count(), "multi_processing")
    assert decided([], PARALLEL_LOCAL_BYTES - 1) == (1, "in_memory")  # a small run stays in-process
    assert decided(["--direct_num_workers=1"], 10 * PARALLEL_LOCAL_BYTES) == (1, "in_memory")
    assert decided(["--direct_running_mode", "multi_threading"], 10 * PARALLEL_LOCAL_BYTES)[1] == "multi_threading"
    assert decided(["--runner", "PortableRunner"], 10 * PARALLEL_LOCAL_BYTES) == (1, "in_memory")


def test_a_local_run_stays_offline_on_the_fn_api_runner(tmp_path, monkeypatch):
    """Beam's DirectRunner tries its Prism runner first, downloading it from GitHub: a local run must not."""
    from apache_beam.runners.portability import prism_runner

    from pipelines.ingest import run

    tried = []

    def prism(*_args, **_kwargs):
        tried.append("prism")
        raise RuntimeError("no Prism here")

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", prism)
    root = make_input(tmp_path / "raw")
    for runner in ([], ["--runner", "DirectRunner"]):
        result = run(["--input", root, "--output", str(tmp_path / "lake"), "--no_gate", "--full", *runner])
        assert result.manifest["totals"]["read"] == 7
    assert tried == []
