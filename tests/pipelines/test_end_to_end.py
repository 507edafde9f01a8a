"""End to end on a small generated dataset: generate -> ingest (Beam) -> gate -> publish -> dbt build."""

import math
import os
import re
import shutil
import subprocess
from datetime import UTC, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.actions import load_actions
from pipelines.ingest import IngestError, run
from pipelines.publish import current_run, current_run_id
from pipelines.summary import collect
from pipelines.warehouse import DBT_PROJECT, build_warehouse, dbt_executable, open_warehouse

MARTS_DIR = Path(__file__).parents[2] / "dbt" / "models" / "marts"


def test_every_file_reconciles_with_what_was_planted(world):
    truth, manifest = world["truth"], world["first"].manifest
    by_file = {Path(f["file"]).relative_to(world["raw"]).as_posix(): f for f in manifest["files"]}
    assert set(by_file) == set(truth["files"])
    for name, planted in truth["files"].items():
        counted = by_file[name]
        assert counted["read"] == counted["good"] + counted["failed"], name
        assert counted["read"] == planted["records"], name
        assert counted["failed"] == planted["malformed"], name
        assert counted["duplicates"] == planted["duplicates"], name
    assert manifest["reconciled"] is True
    assert any(name.endswith(".gz") for name in by_file)


def test_outputs_hold_exactly_the_counted_records(world):
    run_dir = Path(world["first"].run_dir)
    totals = world["first"].manifest["totals"]
    good = ds.dataset(run_dir / "interactions", format="parquet", partitioning="hive").to_table()
    failed = ds.dataset(run_dir / "failed", format="parquet").to_table()
    assert good.num_rows == totals["written"]
    assert failed.num_rows == totals["failed"]
    assert len(set(good["interaction_id"].to_pylist())) == good.num_rows
    assert set(failed["error_type"].to_pylist()) <= {"malformed_json", "missing_field", "invalid_timestamp", "csv_column_count"}
    assert all(failed["source_line"].to_pylist()) and all(failed["raw_payload"].to_pylist())


def test_rerun_gives_the_same_ids_and_counts(world):
    first, second = world["first"], world["second"]
    assert first.manifest["files"] == second.manifest["files"]

    def ids(result):
        table = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive") \
            .to_table(columns=["interaction_id", "customer_id"])
        return sorted(table.to_pylist(), key=lambda x: x["interaction_id"])

    assert ids(first) == ids(second)
    assert current_run_id(world["lake"]) == "second"


@pytest.mark.slow
def test_reruns_add_no_duplicates(world):
    """Three reruns with nothing new, then three that read every file again: the lake never grows."""
    args = ["--input", str(world["raw"]), "--output", str(world["lake"]), "--chunk_mb", "0.25", "--buckets", "3"]
    expected = world["second"].manifest["totals"]["written"]
    for _ in range(3):
        assert run(args).nothing_new
    for n in range(3):
        again = run(args + ["--run_id", f"reprocess-{n}", "--reprocess", "*"])
        table = ds.dataset(Path(again.run_dir) / "interactions", format="parquet", partitioning="hive").to_table(columns=["interaction_id"])
        assert table.num_rows == expected == len(set(table["interaction_id"].to_pylist()))
        assert again.manifest["incremental"]["parquet_linked"] == 0  # every file was replaced, none carried


def test_marts_rank_the_planted_truths_first(world):
    planted = world["truth"]["planted"]
    con = open_warehouse(world["built"].duckdb_path)
    top_repeat = con.execute("""
        select reason_code, journey_phase from root_causes
        group by all order by sum(repeat_contacts) desc limit 1""").fetchone()
    assert top_repeat == (planted["top_repeat_reason"], planted["top_repeat_reason_phase"])
    lowest_ces = con.execute("""
        select journey_phase from effort_by_phase group by 1
        order by sum(ces_mean * ces_responses) / sum(ces_responses) limit 1""").fetchone()[0]
    assert lowest_ces == planted["lowest_ces_phase"]
    hardest = con.execute("""
        select journey_phase from effort_by_phase group by 1
        order by sum(effort_index * (episodes + ces_responses)) / sum(episodes + ces_responses) desc limit 1""").fetchone()[0]
    assert hardest == planted["highest_effort_phase"]
    marts = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"interactions", "contact_episodes", "effort_by_phase", "root_causes"} <= marts
    hugeints = con.execute("select table_name, column_name from information_schema.columns where data_type = 'HUGEINT'").fetchall()
    assert hugeints == []


def test_exports_match_the_warehouse(world):
    con = open_warehouse(world["built"].duckdb_path)
    marts = sorted(p.stem for p in MARTS_DIR.glob("*.sql"))
    assert len(marts) >= 11
    for mart in marts:
        path = world["built"].exports_dir / f"{mart}.parquet"
        assert pq.read_metadata(path).num_rows == con.execute(f"select count(*) from {mart}").fetchone()[0]
        differing = con.execute(f"""
            select count(*) from ((select * from read_parquet(?) except all select * from {mart})
                                  union all (select * from {mart} except all select * from read_parquet(?)))""",
                                [str(path), str(path)]).fetchone()[0]
        assert differing == 0, mart  # the same rows, value for value, both ways
        for field in pq.read_schema(path):  # BI-friendly: no 128-bit integers, instants in UTC
            assert not (pa.types.is_decimal(field.type) and field.type.precision > 18), (mart, field)
            if pa.types.is_timestamp(field.type):
                assert field.type.tz == "UTC", (mart, field)


def test_summary_figures(world):
    figures = collect(world["built"].duckdb_path, world["first"].manifest)
    con = open_warehouse(world["built"].duckdb_path)
    # the top root causes shown are the five rows of highest impact, with their own figures
    expected = con.execute("""select reason_code, journey_phase, touchpoint, contacts from root_causes
                              order by impact_score desc, pareto_rank limit 5""").fetchall()
    assert [(r["reason_code"], r["journey_phase"], r["touchpoint"], r["contacts"]) for r in figures["root_causes"]] == expected
    # per phase, CES weighted by answers and FCR by episodes, recomputed from the interactions and episodes
    ces = dict(con.execute("""select journey_phase, avg(ces) from interactions
                              where interaction_type = 'survey_response' and ces is not null group by 1""").fetchall())
    fcr = dict(con.execute("select journey_phase, avg(is_first_contact_resolution::int) from contact_episodes group by 1").fetchall())
    for row in figures["effort"]:
        if row["ces_mean"] is not None:
            assert row["ces_mean"] == pytest.approx(ces[row["journey_phase"]])
        assert row["fcr_rate"] == pytest.approx(fcr[row["journey_phase"]])
    assert figures["effort"][0]["journey_phase"] == world["truth"]["planted"]["highest_effort_phase"]
    assert sum(t["read"] for t in figures["touchpoints"].values()) == world["first"].manifest["totals"]["read"]


def copy_of_raw(world, tmp_path) -> Path:
    """The world's raw files in a folder of the test's own, to add files to."""
    raw = tmp_path / "raw"
    for path in world["raw"].rglob("*"):
        if path.is_file():
            target = raw / path.relative_to(world["raw"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return raw


def test_a_failing_gate_leaves_the_published_run_untouched(world, tmp_path):
    raw = copy_of_raw(world, tmp_path)
    # Failures spread over many small files (4 each, too few to quarantine one) push the run over 5%.
    read = world["first"].manifest["totals"]["read"]
    for i in range(math.ceil(0.06 * read / 4)):
        (raw / "web" / f"broken-{i:04d}.jsonl").write_text("not json\n" * 4)
    lake = world["lake"]
    before = current_run(lake)
    with pytest.raises(IngestError, match="quality gate failed.*records failed, over 5% \\(most in "):
        run(["--input", str(raw), "--output", str(lake), "--run_id", "rejected"])
    assert current_run(lake) == before


def test_a_file_that_mostly_fails_is_quarantined_and_the_rest_publishes(world, tmp_path):
    raw = copy_of_raw(world, tmp_path)
    good = '{"messageId":"q-%d","type":"page","anonymousId":"a-q","timestamp":"2026-03-01T10:00:00Z"}\n'
    (raw / "web" / "export-broken.jsonl").write_text("".join(good % i for i in range(3)) + "not json\n" * 200)
    result = run(["--input", str(raw), "--output", str(tmp_path / "lake"), "--run_id", "held"])
    assert result.published and current_run_id(tmp_path / "lake") == "held"
    [held] = result.manifest["quarantined"]
    assert held["file"].endswith("export-broken.jsonl") and held["held_back"] == 3 and "200 of 203 records failed" in held["reason"]
    counted = next(f for f in result.manifest["files"] if f["file"] == held["file"])
    assert (counted["read"], counted["good"], counted["failed"], counted["quarantined"]) == (203, 0, 203, True)
    lake_rows = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").to_table()
    assert not [i for i in lake_rows["interaction_id"].to_pylist() if i.startswith("web:q-")]
    failed = ds.dataset(Path(result.run_dir) / "failed", format="parquet").to_table().to_pylist()
    mine = [r for r in failed if r["source_file"] == held["file"]]
    assert len(mine) == 203 and sum(r["error_type"] == "quarantined" for r in mine) == 3
    # fixed, and read again (what `cx replay --error-type quarantined` does): its records land
    (raw / "web" / "export-broken.jsonl").write_text("".join(good % i for i in range(3)))
    replayed = run(["--input", str(raw), "--output", str(tmp_path / "lake"), "--run_id", "replayed", "--reprocess", "web/export-broken.jsonl"])
    assert replayed.published and "quarantined" not in replayed.manifest
    lake_rows = ds.dataset(Path(replayed.run_dir) / "interactions", format="parquet", partitioning="hive").to_table()
    assert sorted(i for i in lake_rows["interaction_id"].to_pylist() if i.startswith("web:q-")) == ["web:q-0", "web:q-1", "web:q-2"]


def test_no_planted_pii_survives_in_the_lake_or_the_warehouse(world):
    planted = world["truth"]["pii"]
    assert len({p["type"] for p in planted}) == 5 and len(planted) >= 40
    con = duckdb.connect()
    con.execute("create table planted (type varchar, value varchar)")
    con.executemany("insert into planted values (?, ?)", [(p["type"], p["value"]) for p in planted])
    run_dir, exports = current_run(world["lake"]), world["built"].exports_dir
    con.execute(f"attach '{world['built'].duckdb_path}' as warehouse (read_only)")
    tables = [f"warehouse.{schema}.{name}" for schema, name in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'warehouse'").fetchall()]
    sources = [f"read_parquet('{run_dir}/interactions/**/*.parquet')", f"read_parquet('{run_dir}/failed/*.parquet')",
               f"read_parquet('{exports}/*.parquet', union_by_name => true)"] + tables
    assert len(tables) >= 4
    for source in sources:
        survivors = con.execute(f"""
            select planted.value from (select r::varchar as row_text from {source} r) rows
            join planted on contains(rows.row_text, planted.value)""").fetchall()
        assert survivors == [], source
    manifest = world["second"].manifest
    for kind in {p["type"] for p in planted}:
        assert manifest["redacted"][kind] >= sum(p["type"] == kind for p in planted), kind
    assert manifest["pii_salt"] == "demo"


def test_merge_traps_do_not_collapse_customers(world):
    import json

    traps = world["truth"]["identity_traps"]
    pairs = traps["shared_phone_accounts"]
    assert len(pairs) >= 10 and traps["placeholder_tickets"] >= 10
    run_dir = Path(current_run(world["lake"]))
    rows = ds.dataset(run_dir / "interactions", format="parquet", partitioning="hive").to_table(
        columns=["customer_id", "source_customer_ref"]).to_pylist()
    accounts: dict[str, set] = {}
    for r in rows:
        if r["source_customer_ref"].startswith("account:"):
            accounts.setdefault(r["customer_id"], set()).add(r["source_customer_ref"])
    assert max(len(a) for a in accounts.values()) == 1  # no customer holds two accounts
    customer_of = {r["source_customer_ref"]: r["customer_id"] for r in rows}
    for first, second in pairs:  # both called from the same phone and gave their account number
        assert customer_of[f"account:{first}"] == first and customer_of[f"account:{second}"] == second
    placeholder_users = {r["source_customer_ref"]: r["customer_id"] for r in rows if r["source_customer_ref"].startswith("zendesk_user:38")}
    assert len(placeholder_users) >= 10 and len(set(placeholder_users.values())) == len(placeholder_users)
    report = json.loads((run_dir / "identity_report.json").read_text())
    phone_hubs = [h for h in report["hubs"] if h["ref"].startswith("phone:")]
    assert len(phone_hubs) >= min(len(pairs), 20) and report["blocked_links"] >= traps["placeholder_tickets"]
    assert report["over_limit"] == 0 and report["largest"][0]["by_type"].get("account", 0) <= 1


PHASES = ["looking_and_deciding", "taking_the_leap", "i_have_it_now_what", "first_success", "part_of_core", "telling_others"]


def recompute_journeys(rows, config):
    """Each customer's journey from the written definitions (docs.md: phase_signal, phase_move,
    journey_status), one interaction at a time: {customer_id: {reached: {phase: first_at}, ...}}."""
    habitual_weeks, pseudo = config["habitual_use_weeks"], set(config["pseudo_customer_types"])
    as_of = max(r["occurred_at"] for r in rows)
    customers = {}
    for r in sorted(rows, key=lambda r: (r["customer_id"], r["occurred_at"], r["interaction_id"])):
        c = customers.setdefault(r["customer_id"], {"weeks": set(), "last_arrival": None, "phase": None, "reached": {}, "moves": [],
                                                    "progress_at": None, "seen": r["occurred_at"], "churned": False})
        c["seen"] = max(c["seen"], r["occurred_at"])
        c["churned"] |= r["interaction_type"] == "subscription_cancelled"
        if r["journey_phase"] is None:
            continue
        index = PHASES.index(r["journey_phase"]) + 1
        signal = r["phase_signal"] == "milestone"
        if r["phase_signal"] == "usage":
            week = r["occurred_at"].astimezone(UTC).date()
            c["weeks"].add(week - timedelta(days=week.weekday()))
            arrival = len(c["weeks"]) == habitual_weeks and not c.get("habitual")
            c["habitual"] = c.get("habitual") or arrival
            signal = arrival or (c["habitual"] and (c["last_arrival"] or 0) < index)
            if arrival:
                c["last_arrival"] = index
        elif signal:
            c["last_arrival"] = index
        if not signal:
            continue
        if not c["reached"] or index > max(PHASES.index(p) + 1 for p in c["reached"]):
            c["progress_at"] = r["occurred_at"]
        c["reached"].setdefault(r["journey_phase"], r["occurred_at"])
        c["moves"].append((r["journey_phase"], r["touchpoint"]))
    journeys = {}
    for customer_id, c in customers.items():
        if not c["reached"] or (":" in customer_id and customer_id.split(":")[0] in pseudo):
            continue
        furthest = max(PHASES.index(p) + 1 for p in c["reached"])
        if c["churned"] or c["seen"] < as_of - timedelta(days=config["journey_gone_days"]):
            status = "dropped"
        elif furthest < 6 and c["progress_at"] < as_of - timedelta(days=config["journey_stall_days"]):
            status = "stalled"
        else:
            status = "active"
        journeys[customer_id] = {"reached": c["reached"], "furthest": furthest, "status": status, "current": c["moves"][-1][0]}
    return journeys


def test_journey_marts_match_the_written_definitions(world):
    con = open_warehouse(world["built"].duckdb_path)
    config = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    columns = ["interaction_id", "customer_id", "occurred_at", "interaction_type", "touchpoint", "journey_phase", "phase_signal"]
    cursor = con.execute(f"select {', '.join(columns)}, journey_phase_source = 'tagged' from interactions")
    rows = [dict(zip(columns, r[:-1])) | ({} if r[-1] else {"journey_phase": None}) for r in cursor.fetchall()]
    journeys = recompute_journeys(rows, config)
    progress = {r[0]: r[1:] for r in con.execute(
        "select customer_id, furthest_phase_index, journey_status, current_phase, phases_reached from journey_progress").fetchall()}
    assert progress == {k: (j["furthest"], j["status"], j["current"], len(j["reached"])) for k, j in journeys.items()}
    assert {j["status"] for j in journeys.values()} == {"active", "stalled", "dropped"}
    funnel = {r[0]: r[1:] for r in con.execute(
        "select journey_phase, customers_reached, reached_next_phase, furthest_here, active_here, stalled_here, dropped_here from phase_funnel").fetchall()}
    for i, phase in enumerate(PHASES):
        here = [j for j in journeys.values() if phase in j["reached"]]
        nxt = None if i == 5 else sum(PHASES[i + 1] in j["reached"] for j in here)
        last = [j for j in here if j["furthest"] == i + 1]
        assert funnel[phase] == (len(here), nxt, len(last), *(sum(j["status"] == s for j in last) for s in ("active", "stalled", "dropped"))), phase
    # a shipment, an invoice or a contact moves nobody: no customer reached a phase through them alone
    moved = con.execute("""
        select count(distinct customer_id) filter (where not milestone),
               count(distinct customer_id) filter (where not milestone and moved)
        from (select customer_id, bool_or(phase_signal = 'milestone') over (partition by customer_id) as milestone,
                     phase_move is not null as moved
              from interactions where journey_phase = 'i_have_it_now_what' and journey_phase_source = 'tagged')""").fetchone()
    assert moved[0] > 0 and moved[1] == 0
    # pseudo-customers are reported apart: beside the funnel, and with every interaction of theirs
    everyone = recompute_journeys(rows, config | {"pseudo_customer_types": []})
    pseudo_ids = [k for k in everyone if ":" in k and k.split(":")[0] in config["pseudo_customer_types"]]
    unlinked = dict(con.execute("select journey_phase, unlinked_identities from phase_funnel").fetchall())
    assert unlinked == {p: sum(p in everyone[k]["reached"] for k in pseudo_ids) for p in PHASES}
    assert min(unlinked["looking_and_deciding"], unlinked["telling_others"]) > 0
    pseudo = dict(con.execute("select customer_id_type, interactions from identity_types where is_pseudo_customer").fetchall())
    assert set(pseudo) >= {"anon", "social", "reviewer"} and not set(pseudo) & {"account", "email", "phone"}
    assert sum(pseudo.values()) == con.execute("select count(*) from interactions where is_pseudo_customer").fetchone()[0]
    assert not con.execute("select count(*) from journey_progress where customer_id like 'social:%' or customer_id like 'anon:%'").fetchone()[0]
    customers = len(journeys)
    for kind in ("with_backtracking", "first_arrivals"):
        assert con.execute(f"select sum(customers) from journey_paths where path_kind = '{kind}'").fetchone()[0] == customers
    backtracked = con.execute("select count(*) from journey_progress where backward_moves + restarts > 0").fetchone()[0]
    assert con.execute("select sum(customers) from journey_paths where path_kind = 'with_backtracking' and has_backtracking").fetchone()[0] \
        == backtracked > 0


def test_expectation_gaps_find_the_planted_onboarding_process_gap(world):
    con = open_warehouse(world["built"].duckdb_path)
    worst = con.execute("""select journey_phase, reason_dimension from expectation_gaps where contacts >= 20
                           order by ended_badly_rate desc limit 1""").fetchone()
    assert worst == (world["truth"]["planted"]["top_repeat_reason_phase"], "process")  # billing confusion is a process reason


def test_reason_drivers_name_the_planted_high_effort_reason(world):
    con = open_warehouse(world["built"].duckdb_path)
    top = con.execute("""select reason_code from reason_drivers where outcome = 'high_effort' and is_driver
                         order by lift_ci_low desc limit 1""").fetchone()
    assert top == (world["truth"]["planted"]["top_repeat_reason"],)
    # a driver's whole interval lies above 1
    assert con.execute("select count(*) from reason_drivers where is_driver and lift_ci_low <= 1").fetchone()[0] == 0
    # the Mantel-Haenszel lift of every high-effort row, recomputed from the episodes in Python (docs: strata
    # are journey phase x first touchpoint; high effort is 3+ contacts or unresolved)
    episodes = con.execute("""select reason_code, coalesce(journey_phase, 'unassigned') || ' / ' || coalesce(first_touchpoint, 'unknown'),
                                     contacts >= 3 or not is_resolved
                              from contact_episodes where reason_code <> 'unknown'""").fetchall()
    strata = {}
    for reason, stratum, event in episodes:
        strata.setdefault(stratum, []).append((reason, event))
    lifts = dict(con.execute("select reason_code, lift from reason_drivers where outcome = 'high_effort'").fetchall())
    assert len(lifts) > 10
    for reason, lift in lifts.items():
        numerator = denominator = 0.0
        for units in strata.values():
            a = sum(1 for r, _ in units if r == reason)
            a_events = sum(1 for r, e in units if r == reason and e)
            b, b_events = len(units) - a, sum(1 for r, e in units if r != reason and e)
            numerator += a_events * b / len(units)
            denominator += b_events * a / len(units)
        expected = round(numerator / denominator, 2) if denominator else None
        assert lift == (pytest.approx(expected, abs=0.006) if expected is not None else None), reason


def test_effort_by_touchpoint_adds_up_to_effort_by_phase(world):
    con = open_warehouse(world["built"].duckdb_path)
    totals = """select journey_phase, month, sum(episodes), sum(contacts), sum(repeat_contacts), sum(ces_responses)
                from {} group by all order by all"""
    by_touchpoint = con.execute(totals.format("effort_by_touchpoint")).fetchall()
    assert by_touchpoint == con.execute(totals.format("effort_by_phase")).fetchall()
    touchpoints = {r[0] for r in con.execute("select distinct touchpoint from effort_by_touchpoint").fetchall()}
    assert {"call_center", "email", "chat"} <= touchpoints


def test_effort_outcomes_recover_the_planted_churn_link(world):
    """The generator makes subscribers with a hard episode cancel more often: high effort must show it, and
    every churn figure must be what the definitions give from the billing events and the episodes."""
    con = open_warehouse(world["built"].duckdb_path)
    rows = {(d, g): r for d, g, *r in con.execute("""
        select dimension, segment, customers, churned_customers, churn_rate, churn_lift, revenue, revenue_at_risk
        from effort_outcomes""").fetchall()}
    billing = con.execute("""
        select customer_id, bool_or(interaction_type = 'subscription_cancelled') as churned,
               coalesce(sum(amount) filter (where interaction_type = 'invoice_paid'), 0) as revenue
        from interactions where touchpoint = 'billing' group by 1""").fetchall()
    churned = {c for c, gone, _ in billing if gone}
    revenue = {c: float(r) for c, _, r in billing}
    overall = len(churned) / len(billing)
    for (dimension, group), (customers, gone, rate, lift, *_money) in rows.items():
        assert rate == pytest.approx(round(gone / customers, 4)) and lift == pytest.approx(round(gone / customers / overall, 2), abs=0.006)
    assert sum(r[0] for (d, _), r in rows.items() if d == "effort_band") == len(billing)
    # outcome groups from the episodes: some unresolved / all resolved / no contact
    unresolved = {c for (c,) in con.execute("select distinct customer_id from contact_episodes where not is_resolved").fetchall()}
    contacted = {c for (c,) in con.execute("select distinct customer_id from contact_episodes").fetchall()}
    some_unresolved = [c for c in revenue if c in unresolved]
    assert rows[("outcome", "some_unresolved")][0] == len(some_unresolved)
    assert rows[("outcome", "no_contact")][0] == len([c for c in revenue if c not in contacted])
    unresolved_churn = len([c for c in some_unresolved if c in churned]) / len(some_unresolved)
    # revenue at risk of a root cause: revenue of the customers not yet churned whose latest episode on it
    # is unresolved, times the churn rate of customers left with an unresolved issue
    latest = con.execute("""
        select reason_code, customer_id from contact_episodes where reason_code <> 'unknown'
        group by all having not arg_max(is_resolved, last_contact_at)""").fetchall()
    at_risk = {}
    for reason, customer in latest:
        if customer in revenue and customer not in churned:
            at_risk[reason] = at_risk.get(reason, 0.0) + revenue[customer]
    for reason, money in at_risk.items():
        assert float(rows[("root_cause", reason)][5]) == pytest.approx(money * unresolved_churn, abs=0.02), reason
    high, low = rows[("effort_band", "high")][2], rows[("effort_band", "low")][2]
    assert high > 1.5 * low  # the planted link: 50% churn after a hard episode against 15% otherwise


def test_perception_gaps_find_the_planted_blind_spot(world):
    """Leadership believes getting started is easy; customers find it the hardest phase, staff nearly agree."""
    planted = world["truth"]["planted"]["perception_gap"]
    con = open_warehouse(world["built"].duckdb_path)
    top = con.execute("select journey_phase, widest_gap_group from perception_gaps where gap_rank = 1").fetchone()
    assert top == (planted["area"], planted["group"])
    widest_ease = con.execute(f"""select journey_phase, leadership_gap, staff_gap from perception_gaps
                                  where question = '{planted["question"]}' order by leadership_gap desc limit 1""").fetchone()
    assert widest_ease[0] == planted["area"] and widest_ease[1] > 2 * widest_ease[2] > 0
    # every ease and does_well score, recomputed in Python from the survey answers in the lake (upstream of
    # dbt): the mean of (answer - 1) / 6 * 100 (ease, 1-7) or / 4 * 100 (does well, 1-5) per group and phase
    import json

    labels = dict(zip(["Looking & Deciding", "Taking The Leap", "I Have It Now What?", "Your First Success",
                       "Making It Part Of Your Core", "Telling Others"], PHASES))
    questions = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]["perception_questions"]
    answers = ds.dataset(world["lake"] / "current" / "interactions", format="parquet", partitioning="hive").to_table(
        filter=ds.field("interaction_type") == "internal_survey_response", columns=["source_code", "attributes"]).to_pylist()
    scores = {}
    for answer in answers:
        for column, value in json.loads(answer["attributes"]).items():
            for question, scale in (("ease", 6), ("does_well", 4)):
                prefix = questions[question] + " ["
                if column.startswith(prefix) and value.strip():
                    key = (question, labels[column[len(prefix):-1]], answer["source_code"])
                    scores.setdefault(key, []).append((int(value) - 1) / scale * 100)
    mart = con.execute("""select question, journey_phase, leadership_score, leadership_respondents, staff_score, staff_respondents
                          from perception_gaps where question in ('ease', 'does_well')""").fetchall()
    assert len(mart) == 12
    for question, phase, leadership, leaders, staff, staffers in mart:
        for group, score, n in (("leadership", leadership, leaders), ("staff", staff, staffers)):
            values = scores[(question, phase, group)]
            assert (score, n) == (pytest.approx(sum(values) / len(values), abs=0.051), len(values)), (question, phase, group)
    assert con.execute("select count(*) from interactions where touchpoint = 'internal_survey'").fetchone()[0] == 0


def test_action_tracking_tells_the_action_that_worked_from_the_one_that_did_not(world):
    planted = world["truth"]["planted"]["actions"]
    con = open_warehouse(world["built"].duckdb_path)
    verdict = dict(con.execute("select action_id, verdict from action_tracking").fetchall())
    assert verdict[planted["worked"]] == "worked"
    assert verdict[planted["no_change"]] == "no_change"
    # every finished action's counts, recomputed in Python from the contacts: the root cause's (treated) and
    # every other reason's (control), in the action's phase and touchpoint, action_window_days either side
    import csv
    from datetime import date

    window = timedelta(days=yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]["action_window_days"])
    contacts = con.execute("""select occurred_at::date, reason_code, journey_phase, touchpoint, outcome <> 'resolved', is_repeat_contact
                              from interactions where is_contact and reason_code <> 'unknown'""").fetchall()
    done = [a for a in csv.DictReader(open(world["raw"] / "_actions.csv")) if a["status"] == "done"]
    assert len(done) >= 2
    for action in done:
        done_on = date.fromisoformat(action["done_on"])
        others_in_window = {o["root_cause"] for o in done if o is not action and o["root_cause"] != action["root_cause"]
                            and done_on - window <= date.fromisoformat(o["done_on"]) < done_on + window}
        counts = {}
        for day, reason, phase, touchpoint, unresolved, repeat in contacts:
            if (action["journey_phase"] and phase != action["journey_phase"]) or (action["touchpoint"] and touchpoint != action["touchpoint"]) \
                    or not done_on - window <= day < done_on + window:
                continue
            if reason in others_in_window:
                continue  # another action's doing: no control
            key = ("" if reason == action["root_cause"] else "control_", "before" if day < done_on else "after")
            tally = counts.setdefault(key, [0, 0, 0])
            tally[0], tally[1], tally[2] = tally[0] + 1, tally[1] + unresolved, tally[2] + repeat
        row = con.execute("""select contacts_before, unresolved_rate_before, repeat_rate_before, contacts_after, unresolved_rate_after,
                                    repeat_rate_after, control_unresolved_rate_before, control_unresolved_rate_after, unresolved_did
                             from action_tracking where action_id = ?""", [action["action_id"]]).fetchone()
        rate = {k: (n, unresolved / n, repeats / n) for k, (n, unresolved, repeats) in counts.items()}
        expected = (*rate[("", "before")], *rate[("", "after")], rate[("control_", "before")][1], rate[("control_", "after")][1],
                    rate[("", "after")][1] - rate[("", "before")][1] - (rate[("control_", "after")][1] - rate[("control_", "before")][1]))
        assert row == pytest.approx(expected, abs=1e-4), action
    worked = con.execute(f"""select unresolved_rate_change, unresolved_p_value, contacts_before, contacts_after
                             from action_tracking where action_id = '{planted["worked"]}'""").fetchone()
    assert worked[0] < 0 and worked[1] < 0.05
    overdue = {r[0] for r in con.execute("select action_id from action_tracking where is_overdue").fetchall()}
    assert overdue == {planted["overdue"]}
    assert {r[0] for r in con.execute("select action_id from action_tracking where is_open").fetchall()} == set(planted["open"])
    # every action has the verdict its status and design give: only finished actions are judged
    actions = list(csv.DictReader(open(world["raw"] / "_actions.csv")))
    expected = {a["action_id"]: None for a in actions if a["status"] != "done"}
    expected.update({planted["worked"]: "worked", planted["no_change"]: "no_change"})
    assert verdict == expected
    # the share of the top root causes (by contacts, from interactions) with an owned action that was not dropped
    top = [r for (r,) in con.execute("""select reason_code from interactions where is_contact and reason_code <> 'unknown'
                                       group by 1 order by count(*) desc, 1 limit 5""").fetchall()]
    owned = {a["root_cause"] for a in actions if a["owner"] and a["status"] != "dropped"}
    share = con.execute("select avg(has_owner::int) from root_cause_ownership where is_top").fetchone()[0]
    assert share == pytest.approx(sum(r in owned for r in top) / len(top))


@pytest.mark.slow
def test_a_second_build_swaps_the_exports_link(world, tmp_path):
    """Each build publishes a new exports folder behind the same link; the previous one is removed."""
    root = world["root"]
    again = build_warehouse(world["lake"] / "current", root / "cx.duckdb", root / "exports",
                            actions=load_actions(world["raw"] / "_actions.csv"))
    assert again.exports_dir == root / "exports" and (root / "exports").is_symlink()
    versions = sorted(p.name for p in root.glob("exports-*"))
    assert len(versions) == 1 and (root / versions[0]).is_dir() and not (root / versions[0]).is_symlink()
    assert (root / "exports" / "action_tracking.parquet").exists()


# Each planted truth and the test above that checks the marts recover it.
TRUTH_CHECKS = {
    "top_repeat_reason": test_marts_rank_the_planted_truths_first,
    "top_repeat_reason_phase": test_marts_rank_the_planted_truths_first,
    "highest_effort_phase": test_marts_rank_the_planted_truths_first,
    "lowest_ces_phase": test_marts_rank_the_planted_truths_first,
    "churn_driver": test_effort_outcomes_recover_the_planted_churn_link,
    "perception_gap": test_perception_gaps_find_the_planted_blind_spot,
    "actions": test_action_tracking_tells_the_action_that_worked_from_the_one_that_did_not,
}


def test_every_planted_truth_is_checked(world):
    assert set(world["truth"]["planted"]) == set(TRUTH_CHECKS)


def test_dbt_unit_tests_pass(world, tmp_path):
    """The models' logic on hand-computed rows (builds skip unit tests; they run here, once)."""
    declared = sum(len(yaml.safe_load(p.read_text()).get("unit_tests") or [])
                   for p in (DBT_PROJECT / "models").rglob("*.yml"))
    copy = tmp_path / "cx.duckdb"
    shutil.copyfile(world["built"].duckdb_path, copy)
    env = dict(os.environ, CX_DUCKDB_PATH=str(copy), CX_LAKE_PATH=str((world["lake"] / "current").resolve()),
               CX_WAREHOUSE_DIR=str(world["root"]),  # where the copied views' relative lake paths resolve
               CX_EXPORTS_DIR=str(tmp_path), DBT_LOG_PATH=str(tmp_path / "logs"), DBT_TARGET_PATH=str(tmp_path / "target"))
    proc = subprocess.run([dbt_executable(), "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT),
                           "--profiles-dir", str(DBT_PROJECT), "--no-use-colors"], env=env, capture_output=True, text=True)
    failures = [line for line in proc.stdout.splitlines() if "FAIL" in line or "ERROR" in line]
    assert proc.returncode == 0, "\n".join(failures[:20])
    assert f"PASS={declared} " in proc.stdout and declared >= 15, re.findall(r"Done\..*", proc.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("broken", ["a model that errors", "a data test that fails"])
def test_a_failed_dbt_build_leaves_the_warehouse_and_exports_byte_identical(world, tmp_path, monkeypatch, broken):
    import hashlib

    import pipelines.warehouse
    from pipelines.warehouse import WarehouseError

    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    if broken == "a model that errors":
        (project / "models" / "marts" / "broken_mart.sql").write_text("select * from a_table_nobody_made\n")
    else:
        (project / "tests").mkdir(exist_ok=True)
        (project / "tests" / "no_interactions_ever.sql").write_text("select * from {{ ref('interactions') }}\n")
    home = tmp_path / "warehouse"
    home.mkdir()
    shutil.copyfile(world["built"].duckdb_path, home / "cx.duckdb")
    shutil.copytree(world["built"].exports_dir.resolve(), home / "exports-v1")
    (home / "exports").symlink_to("exports-v1", target_is_directory=True)

    def published() -> dict[str, str]:
        files = [home / "cx.duckdb", *sorted((home / "exports").resolve().rglob("*.parquet"))]
        return {"exports": str((home / "exports").resolve()), **{p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}}

    before = published()
    monkeypatch.setattr(pipelines.warehouse, "DBT_PROJECT", project)
    with pytest.raises(WarehouseError, match="failed; the published warehouse is unchanged"):
        build_warehouse(world["lake"] / "current", home / "cx.duckdb", home / "exports",
                        actions=load_actions(world["raw"] / "_actions.csv"), full_refresh=True)
    assert published() == before
    assert not (home / "cx.duckdb.building").exists() and not (home / "exports.building").exists()


def test_core_metrics_recomputed_from_interactions_by_their_written_definitions(world):
    """SQL written from dbt/models/docs.md, not from the models, over the interactions mart."""
    con = open_warehouse(world["built"].duckdb_path)
    window, hours = 7, 24  # repeat_window_days, self_service_failure_hours

    # Self-service failure: any web or app self-service event of the customer in the contact's phase
    # within 24 hours before it.
    wrong = con.execute(f"""
        with contacts as (select * from interactions where is_contact),
        expected as (
            select c.interaction_id, exists (
                select 1 from interactions s
                where s.customer_id = c.customer_id and s.channel_type = 'self_service' and s.touchpoint in ('web', 'app')
                  and s.journey_phase is not distinct from c.journey_phase
                  and s.occurred_at <= c.occurred_at and s.occurred_at >= c.occurred_at - interval {hours} hour) as failure
            from contacts c)
        select count(*), count_if(expected.failure) from contacts join expected using (interaction_id)
        where contacts.is_self_service_failure <> expected.failure""").fetchone()
    assert wrong[0] == 0, wrong
    assert con.execute("select count_if(is_self_service_failure) from interactions").fetchone()[0] > 0

    # A contact followed by another contact of the customer on the same (known) reason within the
    # window is unresolved, whatever its disposition said.
    repeated = con.execute(f"""
        select count(*), count_if(outcome <> 'unresolved') from interactions c
        where is_contact and reason_code <> 'unknown' and exists (
            select 1 from interactions n
            where n.is_contact and n.customer_id = c.customer_id and n.reason_code = c.reason_code
              and (n.occurred_at, n.interaction_id) > (c.occurred_at, c.interaction_id)
              and n.occurred_at <= c.occurred_at + interval {window} day)""").fetchone()
    assert repeated[0] > 0 and repeated[1] == 0, repeated
    recorded = con.execute("select count(distinct recorded_outcome) from interactions where is_followed_by_repeat").fetchone()[0]
    assert recorded > 1  # pending, escalated... dispositions were turned into unresolved too

    # Every CES answer with a phase (its own, or the customer's at the time) counts in effort_by_phase.
    answers = con.execute("select count(*) from interactions where interaction_type = 'survey_response' and ces is not null "
                          "and journey_phase is not null").fetchone()[0]
    assert con.execute("select sum(ces_responses) from effort_by_phase").fetchone()[0] == answers
    no_verbatim = con.execute("select count(*) from interactions where interaction_type = 'survey_response' and ces is not null "
                              "and text is null and journey_phase is not null").fetchone()[0]
    assert no_verbatim > 0

    # Time to resolution is unknown (null), not zero, when the last contact's end is unknown.
    zero_tickets = con.execute("""
        select count(*) from contact_episodes e
        where e.is_resolved and e.hours_to_resolution = 0 and e.first_touchpoint = 'email' and e.contacts = 1""").fetchone()[0]
    assert zero_tickets == 0


def test_cx_scores_match_their_definitions(world):
    con = open_warehouse(world["built"].duckdb_path)
    expected = con.execute("""
        select date_trunc('month', occurred_at)::date as month,
               100.0 * (count_if(nps >= 9) - count_if(nps <= 6)) / count(nps), count(nps),
               100.0 * count_if(csat >= 4) / count(csat), avg(ces), 100.0 * count_if(ces >= 5) / count(ces), count(ces)
        from interactions where interaction_type = 'survey_response' group by 1 order by 1""").fetchall()
    got = con.execute("""
        select month, nps, nps_answers, csat_pct, ces_mean, ces_easy_pct, ces_answers
        from cx_scores where dimension = 'all' order by month""").fetchall()
    assert len(got) == len(expected) > 0
    for row, want in zip(got, expected):
        assert row[0] == want[0] and row[2] == want[2] and row[6] == want[6]
        for a, b in zip(row[1:], want[1:]):
            assert (a is None and b is None) or a == pytest.approx(b, abs=1e-4), (row, want)
    # every answer lands once per dimension
    per_dimension = con.execute("select dimension, sum(ces_answers) from cx_scores group by 1").fetchall()
    assert len({n for _, n in per_dimension}) == 1
    earliest, latest = con.execute("select min(occurred_at)::date, max(occurred_at)::date from interactions").fetchone()
    partial = con.execute("select distinct month from cx_scores where is_partial_month").fetchall()
    assert partial and all(m in (earliest.replace(day=1), latest.replace(day=1)) for (m,) in partial)
    assert con.execute("select count(*) from cx_scores where nps_answers > 0 and not (nps_low <= nps and nps <= nps_high)").fetchone()[0] == 0


def test_effort_and_root_cause_figures_recomputed_from_interactions(world):
    """The figures behind the planted-truth rankings, value for value: a mis-weighted CES mean or a repeat
    counted twice would rank the same phase first and still fail here."""
    con = open_warehouse(world["built"].duckdb_path)
    ces = con.execute("""
        with mart as (select journey_phase, month, ces_mean, ces_responses, ces_easy_rate from effort_by_phase where ces_responses > 0),
        recomputed as (
            select journey_phase, date_trunc('month', occurred_at)::date as month, avg(ces) as ces_mean, count(*) as ces_responses,
                   count_if(ces >= 5) / count(*) as ces_easy_rate
            from interactions where interaction_type = 'survey_response' and ces is not null and journey_phase is not null
            group by all)
        select count(*), count_if(abs(mart.ces_mean - recomputed.ces_mean) > 1e-9 or mart.ces_responses <> recomputed.ces_responses
                                   or abs(mart.ces_easy_rate - recomputed.ces_easy_rate) > 1e-9)
        from recomputed left join mart using (journey_phase, month)""").fetchone()
    assert ces[0] > 0 and ces[1] == 0, ces
    repeats = con.execute("""
        with mart as (select reason_code, sum(contacts) as contacts, sum(repeat_contacts) as repeats, sum(unresolved_contacts) as unresolved
                      from root_causes group by 1),
        recomputed as (select reason_code, count(*) as contacts, count_if(is_repeat_contact) as repeats,
                              count_if(outcome <> 'resolved') as unresolved
                       from interactions where is_contact group by 1)
        select count(*), count_if(mart.contacts is distinct from recomputed.contacts or mart.repeats is distinct from recomputed.repeats
                                   or mart.unresolved is distinct from recomputed.unresolved)
        from recomputed full join mart using (reason_code)""").fetchone()
    assert repeats[0] > 5 and repeats[1] == 0, repeats


def test_effort_index_weighs_only_the_parts_that_have_data(world):
    """docs.md effort_index, recomputed in Python from each row's parts: a row with no CES answer is
    scored on its contacts alone, not as if CES said it was effortless."""
    con = open_warehouse(world["built"].duckdb_path)
    weights = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]["effort_index_weights"]
    rows = con.execute("""select ces_mean, repeat_contact_rate, fcr_rate, transfers_per_episode, channel_switches_per_episode, effort_index
                          from effort_by_touchpoint""").fetchall()
    without_ces = 0
    for ces, repeat, fcr, transfers, switches, index in rows:
        parts = {"ces": None if ces is None else (7 - ces) / 6, "repeat_contacts": repeat,
                 "not_first_contact": None if fcr is None else 1 - fcr,
                 "transfers": None if transfers is None else min(transfers, 1),
                 "channel_switches": None if switches is None else min(switches, 1)}
        present = {k: v for k, v in parts.items() if v is not None}
        expected = round(100 * sum(weights[k] * v for k, v in present.items()) / sum(weights[k] for k in present), 1) if present else None
        assert index == pytest.approx(expected, abs=0.051), (parts, index)
        without_ces += ces is None and repeat is not None and expected > 0
    assert without_ces > 0


def test_every_mart_column_is_documented(world):
    """Every column the build made in every mart table has a description in dbt/models/marts/*.yml (the
    tables are found by name, whatever schema they are in)."""
    marts = sorted(p.stem for p in MARTS_DIR.glob("*.sql"))
    described = {}
    for path in MARTS_DIR.glob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            described[model["name"]] = {str(c["name"]).strip('"'): (c.get("description") or "").strip()
                                        for c in model.get("columns") or []}
    con = open_warehouse(world["built"].duckdb_path)
    columns = con.execute(f"""
        select distinct table_name, column_name from information_schema.columns
        where table_name in ({', '.join('?' for _ in marts)}) order by all""", marts).fetchall()
    assert {table for table, _ in columns} == set(marts)
    undocumented = [f"{table}.{column}" for table, column in columns if not described.get(table, {}).get(column)]
    assert undocumented == [], f"mart columns without a description in dbt/models/marts/*.yml: {undocumented}"
