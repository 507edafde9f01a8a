"""Incremental runs: only new files are read, dedup and identity span runs, reprocessing replaces."""

import json
import os
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.incremental import plan_run
from pipelines.ingest import IngestError, run
from pipelines.publish import current_run_id
from tests.conftest import write
from transforms.read import list_input


def event(message_id: str, day: int, anon: str = "a1", user: str | None = None, kind: str = "page") -> str:
    fields = {"messageId": message_id, "type": kind, "anonymousId": anon, "timestamp": f"2026-02-{day:02d}T10:00:00Z",
              "properties": {"path": "/pricing"}}
    if user:
        fields["userId"] = user
    return json.dumps(fields) + "\n"


def tickets(status: str, updated: str) -> str:
    ticket = {"id": 101, "created_at": "2026-02-03T07:00:00Z", "updated_at": updated, "description": "I was charged twice",
              "status": status, "requester_id": 360001, "tags": ["billing"], "via": {"channel": "email"}}
    return json.dumps({"tickets": [ticket], "users": [{"id": 360001, "external_id": "C1"}]})


def lake_rows(result) -> dict[str, dict]:
    table = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").to_table()
    rows = table.to_pylist()
    assert len(rows) == len({r["interaction_id"] for r in rows}), "an id appears twice in the lake"
    return {r["interaction_id"]: r for r in rows}


def by_file(result) -> dict[str, dict]:
    return {Path(f["file"]).name: f for f in result.manifest["files"]}


@pytest.fixture
def lake(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "lake"
    write(raw, "web", "a.jsonl", event("m1", 1) + event("m2", 2) + event("m3", 3, anon="a9", user="C9"))
    write(raw, "email", "tickets-1.json", tickets("open", "2026-02-03T08:00:00Z"))

    def ingest(*extra: str):
        return run(["--input", str(raw), "--output", str(out), "--chunk_mb", "0.01", *extra])

    return raw, out, ingest


def test_plan_reads_new_and_changed_files_and_replaces_what_changed(tmp_path):
    """The plan reads no byte: a file is unchanged when the listing's size and time last written match
    the registry's; the sha256 the workers computed is kept but not checked again."""
    a = write(tmp_path, "web", "a.jsonl", event("m1", 1))
    b = write(tmp_path, "web", "b.jsonl", event("m2", 1))

    def listed(*paths):
        listing = list_input(str(tmp_path))
        return [f for f in listing.files if f[0] in map(str, paths)], listing.modified

    def registered(path):
        return {"size": path.stat().st_size, "modified": path.stat().st_mtime, "sha256": "worker's"}

    gone = str(tmp_path / "web" / "gone.jsonl")
    registry = {str(a): registered(a), gone: {"size": 1, "modified": 1.0, "sha256": "x"}}
    plan = plan_run(*listed(a, b), registry, str(tmp_path))
    assert plan.read == [str(b)] and plan.unchanged == [str(a)] and plan.removed == {gone}
    os.utime(a, (a.stat().st_atime, a.stat().st_mtime + 5))  # rewritten with the same size
    plan = plan_run(*listed(a, b), registry, str(tmp_path))
    assert plan.read == [str(a), str(b)] and str(a) in plan.removed
    assert plan_run(*listed(b), {str(b): registered(b)}, str(tmp_path), ("web/*",)).read == [str(b)]
    assert plan_run(*listed(b), {str(b): {**registered(b), "sha256": None}}, str(tmp_path)).read == [str(b)]  # changed while read


def test_rerun_with_nothing_new_makes_no_run(lake):
    _, out, ingest = lake
    first = ingest()
    again = ingest()
    assert again.nothing_new and not again.published and again.run_id == first.run_id
    assert current_run_id(out) == first.run_id


def test_new_files_dedup_supersede_restitch_and_late_events_across_runs(lake):
    raw, out, ingest = lake
    first = ingest("--run_id", "r1")
    assert lake_rows(first)["web:m1"]["customer_id"] == "anon:a1"
    # A later export re-sends m2, brings the identify call that ties a1 to C1, and a late event for day 1;
    # the ticket comes again in a later state.
    write(raw, "web", "b.jsonl", event("m2", 2) + event("m4", 4, user="C1", kind="identify") + event("m5", 1))
    write(raw, "email", "tickets-2.json", tickets("solved", "2026-02-05T08:00:00Z"))
    second = ingest("--run_id", "r2")
    files = by_file(second)
    assert set(files) == {"b.jsonl", "tickets-2.json"}  # only the new files were read
    assert files["b.jsonl"]["duplicates"] == 1 and files["b.jsonl"]["written"] == 2
    assert second.manifest["incremental"]["superseded"] == 1
    rows = lake_rows(second)
    assert sorted(rows) == ["email:101", "web:m1", "web:m2", "web:m3", "web:m4", "web:m5"]
    assert rows["email:101"]["source_code"] == "solved"
    assert rows["web:m1"]["customer_id"] == "C1" and rows["web:m2"]["customer_id"] == "C1"  # re-stitched
    assert rows["web:m2"]["source_file"].endswith("a.jsonl")  # the published copy stays
    assert second.manifest["incremental"]["rows_restitched"] >= 2
    late = Path(second.run_dir) / "interactions" / "occurred_date=2026-02-01"
    assert sorted(p.name for p in late.glob("*.parquet")) == ["part-r1-00000.parquet", "part-r2-00000.parquet"]
    registry = json.loads((Path(second.run_dir) / "files.json").read_text())["files"]
    assert {Path(p).name: f["run_id"] for p, f in registry.items()} == {
        "a.jsonl": "r1", "tickets-1.json": "r1", "b.jsonl": "r2", "tickets-2.json": "r2"}


@pytest.mark.slow
def test_reprocessing_replaces_what_files_gave_and_matches_a_full_run(lake):
    raw, out, ingest = lake
    ingest("--run_id", "r1")
    write(raw, "web", "b.jsonl", event("m2", 2) + event("m4", 4, user="C1", kind="identify"))
    incremental = lake_rows(ingest("--run_id", "r2"))
    for n, args in enumerate([("--reprocess", "web/*"), ("--reprocess_from", "2026-02-03"), ("--reprocess", "*")]):
        again = ingest("--run_id", f"again{n}", *args)
        assert again.manifest["totals"]["read"] > 0 and again.manifest["incremental"]["files_replaced"]
        assert lake_rows(again).keys() == incremental.keys()
        assert {k: r["customer_id"] for k, r in lake_rows(again).items()} == {k: r["customer_id"] for k, r in incremental.items()}
    reprocessed_days = ingest("--run_id", "days", "--reprocess_from", "2026-02-04")
    assert {Path(f["file"]).name for f in reprocessed_days.manifest["files"]} == {"b.jsonl"}
    full = ingest("--run_id", "full", "--full")
    assert full.manifest["incremental"]["previous_run"] is None
    assert {k: (r["customer_id"], r["source_file"]) for k, r in lake_rows(full).items()} == \
        {k: (r["customer_id"], r["source_file"]) for k, r in incremental.items()}


def test_a_changed_file_replaces_its_records(lake):
    raw, _, ingest = lake
    ingest("--run_id", "r1")
    write(raw, "web", "a.jsonl", event("m1", 1) + event("m3", 3, anon="a9", user="C9") + event("m6", 6))
    changed = ingest("--run_id", "r2")
    assert changed.manifest["incremental"]["files_replaced"] == [str(raw / "web" / "a.jsonl")]
    assert sorted(lake_rows(changed)) == ["email:101", "web:m1", "web:m3", "web:m6"]


def test_bad_reprocess_day_is_one_line(lake):
    _, _, ingest = lake
    with pytest.raises(IngestError, match="YYYY-MM-DD"):
        ingest("--reprocess_from", "last tuesday")


@pytest.mark.slow
def test_incremental_warehouse_build_equals_a_full_refresh(tmp_path):
    import shutil

    import duckdb

    from pipelines.generate import generate
    from pipelines.warehouse import build_warehouse

    everything, raw, out = tmp_path / "all", tmp_path / "raw", tmp_path / "lake"
    generate(everything, 150, seed=5, records_per_file=400)
    later = {"email", "chat", "billing"}
    for path in sorted(everything.rglob("*.*")):
        if path.name != "_truth.json" and path.parent.name not in later and not path.name.endswith("-0002.jsonl"):
            (raw / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, raw / path.parent.name / path.name)
    args = ["--input", str(raw), "--output", str(out), "--chunk_mb", "0.05"]
    first = run(args + ["--run_id", "r1"])
    incremental = build_warehouse(out / "current", tmp_path / "inc.duckdb", tmp_path / "inc_exports")
    anonymous = min(r["customer_id"] for r in lake_rows(first).values() if r["customer_id"].startswith("anon:"))
    shutil.copytree(everything, raw, dirs_exist_ok=True)  # the other touchpoints and later files arrive
    write(raw, "web", "late-login.jsonl", event("late-login", 20, anon=anonymous.removeprefix("anon:"), user="C0000003", kind="identify"))
    second = run(args + ["--run_id", "r2"])
    assert second.manifest["incremental"]["rows_restitched"] > 0  # billing and tickets tie identities together
    incremental = build_warehouse(out / "current", tmp_path / "inc.duckdb", tmp_path / "inc_exports")
    assert incremental.refreshed_runs == ["r2"]
    full = build_warehouse(out / "current", tmp_path / "full.duckdb", tmp_path / "full_exports", full_refresh=True)
    con = duckdb.connect()
    con.execute(f"attach '{incremental.duckdb_path}' as inc (read_only)")
    con.execute(f"attach '{full.duckdb_path}' as full_build (read_only)")
    marts = [name for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'full_build' and schema_name = 'marts' order by 1").fetchall()]
    assert {"interactions", "contact_episodes", "effort_by_phase", "root_causes", "cx_scores", "action_tracking"} <= set(marts)
    for mart in marts:  # every mart, both ways
        rows = con.execute(f"select count(*) from full_build.marts.{mart}").fetchone()[0]
        assert con.execute(f"select count(*) from inc.marts.{mart}").fetchone()[0] == rows, mart
        differing = con.execute(f"""
            select count(*) from ((select * from inc.marts.{mart} except all select * from full_build.marts.{mart})
                                  union all (select * from full_build.marts.{mart} except all select * from inc.marts.{mart}))""").fetchone()[0]
        assert differing == 0, mart
    assert con.execute("select count(*) from full_build.marts.interactions").fetchone()[0] > 100


def test_untouched_parquet_is_carried_forward_as_a_hard_link(lake):
    raw, out, ingest = lake
    first = ingest("--run_id", "r1")
    write(raw, "web", "b.jsonl", event("m9", 9, anon="a-new"))
    second = ingest("--run_id", "r2")
    before = {p.relative_to(first.run_dir): p.stat().st_ino for p in (Path(first.run_dir) / "interactions").rglob("*.parquet")}
    after = {p.relative_to(second.run_dir): p.stat().st_ino for p in (Path(second.run_dir) / "interactions").rglob("*.parquet")}
    assert before and all(after[path] == inode for path, inode in before.items())  # the same files, not copies
    assert second.manifest["incremental"]["parquet_linked"] == len(before)
    assert second.manifest["incremental"]["parquet_rewritten"] == 0


def test_an_operators_salt_changes_every_hash_and_the_manifest_says_so(lake, monkeypatch):
    raw, out, ingest = lake
    write(raw, "call_center", "calls.csv", "ContactId,CustomerAccount,CallerPhone,InitiationTimestamp\nk1,C1,+15550001,2026-02-03T09:00:00Z\n")
    demo = ingest("--run_id", "r1")
    monkeypatch.setenv("CX_PII_SALT", "an operator's secret")
    salted = ingest("--run_id", "r2", "--full")
    assert (demo.manifest["pii_salt"], salted.manifest["pii_salt"]) == ("demo", "CX_PII_SALT")
    def phone_links(result):
        links = ds.dataset(Path(result.run_dir) / "links", format="parquet").to_table().to_pylist()
        return {link["linked_ref"] for link in links if link["linked_ref"].startswith("phone:")}

    assert len(phone_links(demo)) == len(phone_links(salted)) == 1 and phone_links(demo) != phone_links(salted)
    assert "5550001" not in str(phone_links(salted))


@pytest.mark.slow
def test_a_rejected_run_stays_under_runs_and_old_runs_are_pruned(lake):
    raw, out, ingest = lake
    first = ingest("--run_id", "r1", "--keep_runs", "2")
    for i in range(25):  # 4 failures of 5 records in each: too few to quarantine a file, most of the run
        write(raw, "web", f"broken-{i}.jsonl", event(f"b{i}", 4) + "not json\n" * 4)
    with pytest.raises(IngestError, match="quality gate failed for run r2"):
        ingest("--run_id", "r2", "--keep_runs", "2")
    assert current_run_id(out) == first.run_id
    assert json.loads((out / "runs" / "r2" / "manifest.json").read_text())["totals"]["failed"] == 100  # kept to look into
    for i in range(25):
        (raw / "web" / f"broken-{i}.jsonl").unlink()
    write(raw, "web", "b.jsonl", event("m7", 5))
    assert ingest("--run_id", "r3", "--keep_runs", "2").published
    write(raw, "web", "c.jsonl", event("m8", 6))
    assert ingest("--run_id", "r4", "--keep_runs", "2").published
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["r3", "r4"] and current_run_id(out) == "r4"


def test_a_file_that_goes_leaves_the_lake_when_no_bucket_gets_new_keys(lake):
    """Only published keys reach the dedup buckets (a file went, nothing new came): the run still ends."""
    raw, out, ingest = lake
    first = ingest("--run_id", "r1", "--buckets", "4")
    assert {r.split(":")[0] for r in lake_rows(first)} == {"web", "email"}
    (raw / "email" / "tickets-1.json").unlink()
    second = ingest("--run_id", "r2", "--buckets", "4")
    assert second.published and {r.split(":")[0] for r in lake_rows(second)} == {"web"}
    assert [Path(f).name for f in second.manifest["incremental"]["files_removed"]] == ["tickets-1.json"]


def test_a_run_id_names_one_run(lake):
    """A retried name starts clean (nothing an earlier attempt staged is read); the published run's name is refused."""
    raw, out, ingest = lake
    ingest("--run_id", "r1")
    with pytest.raises(IngestError, match="published"):
        ingest("--run_id", "r1", "--full")
    leftover = out / "runs" / "r2" / "_stage" / "superseded" / "bucket=00000.parquet"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"left by a crashed attempt")
    write(raw, "web", "b.jsonl", event("m9", 4))
    assert ingest("--run_id", "r2").published and not leftover.exists()


def test_a_file_written_again_is_read_again_only_if_its_bytes_changed(lake):
    """A copy or a sync writes a file again: same size, new time. The workers hash it; the same bytes
    make no run, other bytes of the same size replace what the file gave."""
    raw, out, ingest = lake
    first = ingest("--run_id", "r1")
    events = raw / "web" / "a.jsonl"
    later = events.stat().st_mtime + 60
    os.utime(events, (later, later))
    assert ingest("--run_id", "r2").nothing_new
    events.write_text(events.read_text().replace('"m2"', '"m7"'))  # the same size, other bytes
    third = ingest("--run_id", "r3")
    assert third.manifest["incremental"]["files_read"] == 1 and third.manifest["incremental"]["files_replaced"]
    assert "web:m7" in lake_rows(third) and "web:m2" not in lake_rows(third) and "web:m2" in lake_rows(first)
