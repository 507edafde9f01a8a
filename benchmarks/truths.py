"""What the marts find on generated samples, next to what the generator planted, with each finding's margin.

    python benchmarks/truths.py --customers 100000
    python benchmarks/truths.py --customers 2000,10000 --seeds 1,2,3,4,5     # every seed and size

Generates each sample (cached under data/bench/ while the generator is unchanged), runs `cx run` on it,
then prints every mart with its grain (its key columns, from the dbt tests) and row count, and for every
planted truth in _truth.json what was planted, what the marts say, whether they agree and by how much
(the margin: how far the finding is from flipping, e.g. the relative gap between the first and the
second phase). With several seeds and sizes, a narrow threshold shows up as a failing seed, not a lucky
pass; the churn drivers found are listed per seed. Written to data/bench/truths.json as well.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import duckdb
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import CX, ROOT, generator_version, timed  # noqa: E402

from pipelines.warehouse import open_warehouse  # noqa: E402

MARTS = ROOT / "dbt" / "models" / "marts"


def grains() -> dict[str, str]:
    """Each mart's key columns: its unique_combination test, or its unique column."""
    found = {}
    models = [m for path in sorted(MARTS.glob("*.yml")) for m in yaml.safe_load(path.read_text()).get("models") or []]
    for model in models:
        key = next((t["unique_combination"]["arguments"]["columns"] for t in model.get("tests", [])
                    if isinstance(t, dict) and "unique_combination" in t), None)
        if key is None:
            key = [c["name"] for c in model.get("columns", []) if "unique" in (c.get("tests") or [])][:1]
        found[model["name"]] = " x ".join(k.strip('"') for k in key)
    return found


def findings(con: duckdb.DuckDBPyConnection, planted: dict) -> list[tuple[str, str, str, bool, float]]:
    """(truth, planted, found, agree, margin) for every planted truth; a margin at or below 0 disagrees."""
    rows = []
    ranked = con.execute("""select reason_code, journey_phase, sum(repeat_contacts) from root_causes group by all
                            order by 3 desc limit 2""").fetchall()
    (reason, phase, top), runner_up = ranked[0], ranked[1][2] if len(ranked) > 1 else 0
    rows.append(("reason behind most repeat contacts", f"{planted['top_repeat_reason']} in {planted['top_repeat_reason_phase']}",
                 f"{reason} in {phase} ({top} repeats, next {runner_up})",
                 (reason, phase) == (planted["top_repeat_reason"], planted["top_repeat_reason_phase"]), (top - runner_up) / max(top, 1)))
    by_ces = con.execute("""select journey_phase, sum(ces_mean * ces_responses) / sum(ces_responses) from effort_by_phase
                            where ces_responses > 0 group by 1 order by 2 limit 2""").fetchall()
    lowest, ces = by_ces[0]
    rows.append(("phase with the lowest CES", planted["lowest_ces_phase"], f"{lowest} (mean CES {ces:.2f}, next {by_ces[1][1]:.2f})",
                 lowest == planted["lowest_ces_phase"], by_ces[1][1] - ces))
    by_effort = con.execute("""select journey_phase, sum(effort_index * (episodes + ces_responses)) / sum(episodes + ces_responses)
                               from effort_by_phase group by 1 order by 2 desc limit 2""").fetchall()
    hardest, index = by_effort[0]
    rows.append(("phase with the highest effort", planted["highest_effort_phase"],
                 f"{hardest} (effort index {index:.1f}, next {by_effort[1][1]:.1f})",
                 hardest == planted["highest_effort_phase"], index - by_effort[1][1]))
    drivers = con.execute("""select outcome, reason_code, lift, lift_ci_low, lift_ci_high, bootstrap_selected_share, is_driver
                             from reason_drivers where outcome = 'high_effort' order by is_driver desc, lift_ci_low desc""").fetchall()
    named = [f"{r[1]} (lift {r[2]}, CI {r[3]}-{r[4]}, found in {r[5]:.0%} of resamples)" for r in drivers if r[6]]
    top = next((r for r in drivers if r[1] == planted["top_repeat_reason"]), None)
    rows.append(("high-effort driver", planted["top_repeat_reason"], f"high-effort drivers: {', '.join(named) or 'none'}",
                 top is not None and top[6] and drivers[0][1] == planted["top_repeat_reason"],
                 min(top[5] - 0.8, top[3] - 1) if top and top[3] is not None else -1.0))
    churn = planted["churn_driver"]
    rate = dict(con.execute("select \"group\", churn_rate from effort_outcomes where dimension = 'effort_band'").fetchall())
    drivers = [r[0] for r in con.execute("""select reason_code || ' (lift ' || lift || ', CI ' || lift_ci_low || '-' || lift_ci_high || ')'
                                            from reason_drivers where outcome = 'churn' and is_driver order by lift_ci_low desc""").fetchall()]
    rows.append(("effort -> churn", f"churn {churn['churn_after_hard_episode']:.0%} after an episode of "
                 f"{churn['hard_episode_contacts']}+ contacts, else {churn['churn_otherwise']:.0%}",
                 f"churn high effort {rate['high']:.1%}, medium {rate['medium']:.1%}, low {rate['low']:.1%}; "
                 f"churn drivers: {', '.join(drivers) or 'none'}", rate["high"] > 1.5 * rate["low"],
                 rate["high"] / max(rate["low"], 1e-9) - 1.5))
    gap = planted["perception_gap"]
    gaps = con.execute("""select question, journey_phase, widest_gap_group,
                                 case widest_gap_group when 'leadership' then leadership_gap else staff_gap end
                          from perception_gaps order by gap_rank limit 2""").fetchall()
    top = gaps[0]
    ease = con.execute("""select journey_phase, leadership_gap, staff_gap from perception_gaps where question = ?
                          order by leadership_gap desc limit 1""", [gap["question"]]).fetchone()
    rows.append(("perception gap", f"{gap['group']} overrates {gap['question']} in {gap['area']}",
                 f"widest gap: {top[2]} on {top[0]} in {top[1]} ({top[3]:+.1f} points, next {gaps[1][3]:+.1f}); {gap['question']}: "
                 f"{ease[0]} leadership {ease[1]:+.1f}, staff {ease[2]:+.1f}",
                 (top[1], top[2]) == (gap["area"], gap["group"]) and ease[0] == gap["area"], abs(top[3]) - abs(gaps[1][3])))
    actions = planted["actions"]
    verdicts = {r[0]: r[1:] for r in con.execute("""select action_id, verdict, unresolved_rate_before, unresolved_rate_after,
                                                     unresolved_did_p_value from action_tracking""").fetchall()}
    overdue = sorted(r[0] for r in con.execute("select action_id from action_tracking where is_overdue").fetchall())
    described = "; ".join(f"{a}: {v[0]} (unresolved {v[1]:.1%} -> {v[2]:.1%}, difference-in-differences p {v[3]:.4f})"
                          for a, v in verdicts.items() if a in (actions["worked"], actions["no_change"]) and v[1] is not None)
    worked_p, still_p = verdicts[actions["worked"]][3], verdicts[actions["no_change"]][3]
    rows.append(("closed loop", f"{actions['worked']} worked, {actions['no_change']} did not, {actions['overdue']} overdue",
                 f"{described}; overdue: {', '.join(overdue)}",
                 verdicts[actions["worked"]][0] == "worked" and verdicts[actions["no_change"]][0] == "no_change"
                 and overdue == [actions["overdue"]],
                 min(0.05 - (worked_p if worked_p is not None else 1), (still_p if still_p is not None else 0) - 0.05)))
    return rows


def sample(args, customers: int, seed: int) -> tuple[dict, Path]:
    """The generated raw files of one size and seed (cached), and their truth."""
    raw = args.cache / f"raw-seed{seed}-customers{customers}-gen{generator_version()}"
    if not (raw / "_truth.json").exists():
        shutil.rmtree(raw, ignore_errors=True)
        print(f"generating {customers:,} customers (seed {seed}) into {raw} ...", flush=True)
        timed([CX, "generate", "--customers", str(customers), "--seed", str(seed), "--out", str(raw)])
    return json.loads((raw / "_truth.json").read_text()), raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", default="100000", help="One size or several, comma-separated.")
    parser.add_argument("--seeds", default="7", help="One seed or several, comma-separated.")
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args(argv)
    sizes = [int(c) for c in args.customers.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    if min(sizes) < 100:
        parser.error("--customers must be at least 100")
    console = Console(width=max(Console().width, 160))
    report, failures = [], 0
    for customers in sizes:
        for seed in seeds:
            truth, raw = sample(args, customers, seed)
            warehouse = args.cache / "truths-warehouse"
            shutil.rmtree(warehouse, ignore_errors=True)
            print(f"cx run ({customers:,} customers, seed {seed}) ...", flush=True)
            started = time.perf_counter()
            timed([CX, "run", "--input", str(raw), "--warehouse", str(warehouse)])
            seconds = time.perf_counter() - started
            con = open_warehouse(warehouse / "cx.duckdb")
            records = sum(f["records"] for f in truth["files"].values())
            sizes_by_mart = {mart: con.execute(f"select count(*) from {mart}").fetchone()[0] for mart in grains()}
            if len(sizes) == 1 and len(seeds) == 1:
                marts = Table(title=f"Marts on {customers:,} customers ({records:,} raw records; cx run {seconds:.0f}s)")
                for column in ("mart", "grain", "rows"):
                    marts.add_column(column, justify="right" if column == "rows" else "left")
                for mart, grain in grains().items():
                    marts.add_row(mart, grain, f"{sizes_by_mart[mart]:,}")
                console.print(marts)
            found = findings(con, truth["planted"])
            con.close()
            table = Table(title=f"Planted truths and what the marts found: {customers:,} customers, seed {seed}")
            for column in ("truth", "planted", "found", "agree", "margin"):
                table.add_column(column, overflow="fold")
            for name, planted, seen, agree, margin in found:
                table.add_row(name, planted, seen, "yes" if agree else "NO", f"{margin:+.3f}")
            console.print(table)
            failures += sum(not row[3] for row in found)
            report.append({"customers": customers, "seed": seed, "records": records, "cx_run_seconds": round(seconds, 1),
                           "marts": sizes_by_mart,
                           "truths": [dict(zip(("truth", "planted", "found", "agree", "margin"), row)) for row in found]})
    summary = Table(title="Agreement per truth, over every size and seed (smallest margin)")
    for column in ("truth", "agreed", "smallest margin", "where"):
        summary.add_column(column)
    for i, first in enumerate(report[0]["truths"]):
        name = first["truth"]
        runs = [(r["customers"], r["seed"], r["truths"][i]) for r in report]
        worst = min(runs, key=lambda run: run[2]["margin"])
        summary.add_row(name, f"{sum(run[2]['agree'] for run in runs)} of {len(runs)}", f"{worst[2]['margin']:+.3f}",
                        f"{worst[0]:,} customers, seed {worst[1]}")
    console.print(summary)
    (args.cache / "truths.json").write_text(json.dumps(report, indent=2))
    console.print(f"written: {args.cache / 'truths.json'}")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
