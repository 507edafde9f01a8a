"""What the marts find on a generated sample, next to what the generator planted, and each mart's size.

    python benchmarks/truths.py --customers 100000

Generates the sample (cached under data/bench/ while the generator is unchanged), runs `cx run` on it,
then prints every mart with its grain (its key columns, from the dbt tests) and row count, and for every
planted truth in _truth.json what was planted, what the marts say, and whether they agree. Written to
data/bench/truths.json as well.
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

MARTS_YML = ROOT / "dbt" / "models" / "marts" / "_marts__models.yml"


def grains() -> dict[str, str]:
    """Each mart's key columns: its unique_combination test, or its unique column."""
    found = {}
    for model in yaml.safe_load(MARTS_YML.read_text())["models"]:
        key = next((t["unique_combination"]["arguments"]["columns"] for t in model.get("tests", [])
                    if isinstance(t, dict) and "unique_combination" in t), None)
        if key is None:
            key = [c["name"] for c in model.get("columns", []) if "unique" in (c.get("tests") or [])][:1]
        found[model["name"]] = " x ".join(k.strip('"') for k in key)
    return found


def findings(con: duckdb.DuckDBPyConnection, planted: dict) -> list[tuple[str, str, str, bool]]:
    """(truth, planted, found, agree) for every planted truth."""
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    rows = []
    reason, phase = one("""select reason_code, journey_phase from root_causes group by all
                           order by sum(repeat_contacts) desc limit 1""")
    rows.append(("reason behind most repeat contacts", f"{planted['top_repeat_reason']} in {planted['top_repeat_reason_phase']}",
                 f"{reason} in {phase}", (reason, phase) == (planted["top_repeat_reason"], planted["top_repeat_reason_phase"])))
    lowest, ces = one("""select journey_phase, sum(ces_mean * ces_responses) / sum(ces_responses) from effort_by_phase
                         group by 1 order by 2 limit 1""")
    rows.append(("phase with the lowest CES", planted["lowest_ces_phase"], f"{lowest} (mean CES {ces:.2f})",
                 lowest == planted["lowest_ces_phase"]))
    hardest, index = one("""select journey_phase, sum(effort_index * (episodes + ces_responses)) / sum(episodes + ces_responses)
                            from effort_by_phase group by 1 order by 2 desc limit 1""")
    rows.append(("phase with the highest effort", planted["highest_effort_phase"], f"{hardest} (effort index {index:.1f})",
                 hardest == planted["highest_effort_phase"]))
    churn = planted["churn_driver"]
    rate = dict(con.execute("select \"group\", churn_rate from effort_outcomes where dimension = 'effort_band'").fetchall())
    drivers = [r[0] for r in con.execute("""select reason_code || ' (lift ' || lift || ', CI ' || lift_ci_low || '-' || lift_ci_high || ')'
                                            from reason_drivers where outcome = 'churn' and is_driver order by lift_ci_low desc""").fetchall()]
    rows.append(("effort -> churn", f"churn {churn['churn_after_hard_episode']:.0%} after an episode of "
                 f"{churn['hard_episode_contacts']}+ contacts, else {churn['churn_otherwise']:.0%}",
                 f"churn high effort {rate['high']:.1%}, medium {rate['medium']:.1%}, low {rate['low']:.1%}; "
                 f"churn drivers: {', '.join(drivers) or 'none'}", rate["high"] > 1.5 * rate["low"]))
    gap = planted["perception_gap"]
    top = one("""select question, journey_phase, widest_gap_group,
                        case widest_gap_group when 'leadership' then leadership_gap else staff_gap end
                 from perception_gaps where gap_rank = 1""")
    ease = one(f"""select journey_phase, leadership_gap, staff_gap from perception_gaps where question = '{gap["question"]}'
                   order by leadership_gap desc limit 1""")
    rows.append(("perception gap", f"{gap['group']} overrates {gap['question']} in {gap['area']}",
                 f"widest gap: {top[2]} on {top[0]} in {top[1]} ({top[3]:+.1f} points); {gap['question']}: "
                 f"{ease[0]} leadership {ease[1]:+.1f}, staff {ease[2]:+.1f}",
                 (top[1], top[2]) == (gap["area"], gap["group"]) and ease[0] == gap["area"]))
    actions = planted["actions"]
    verdicts = {r[0]: r[1:] for r in con.execute("""select action_id, verdict, unresolved_rate_before, unresolved_rate_after,
                                                     unresolved_p_value from action_tracking""").fetchall()}
    overdue = sorted(r[0] for r in con.execute("select action_id from action_tracking where is_overdue").fetchall())
    described = "; ".join(f"{a}: {v[0]} (unresolved {v[1]:.1%} -> {v[2]:.1%}, p {v[3]:.4f})"
                          for a, v in verdicts.items() if a in (actions["worked"], actions["no_change"]))
    rows.append(("closed loop", f"{actions['worked']} worked, {actions['no_change']} did not, {actions['overdue']} overdue",
                 f"{described}; overdue: {', '.join(overdue)}",
                 verdicts[actions["worked"]][0] == "worked" and verdicts[actions["no_change"]][0] == "no_change"
                 and overdue == [actions["overdue"]]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args(argv)
    if args.customers < 100:
        parser.error("--customers must be at least 100")
    raw = args.cache / f"raw-seed{args.seed}-customers{args.customers}-gen{generator_version()}"
    if not (raw / "_truth.json").exists():
        shutil.rmtree(raw, ignore_errors=True)
        print(f"generating {args.customers:,} customers into {raw} ...", flush=True)
        timed([CX, "generate", "--customers", str(args.customers), "--seed", str(args.seed), "--out", str(raw)])
    truth = json.loads((raw / "_truth.json").read_text())
    warehouse = args.cache / "truths-warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    print("cx run ...", flush=True)
    started = time.perf_counter()
    timed([CX, "run", "--input", str(raw), "--warehouse", str(warehouse)])
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(warehouse / "cx.duckdb"), read_only=True)
    records = sum(f["records"] for f in truth["files"].values())
    console = Console(width=max(Console().width, 140))
    marts = Table(title=f"Marts on {args.customers:,} customers ({records:,} raw records; cx run {seconds:.0f}s)")
    for column in ("mart", "grain", "rows"):
        marts.add_column(column, justify="right" if column == "rows" else "left")
    sizes = {}
    for mart, grain in grains().items():
        sizes[mart] = con.execute(f"select count(*) from {mart}").fetchone()[0]
        marts.add_row(mart, grain, f"{sizes[mart]:,}")
    console.print(marts)
    found = findings(con, truth["planted"])
    table = Table(title="Planted truths and what the marts found")
    for column in ("truth", "planted", "found", "agree"):
        table.add_column(column, overflow="fold")
    for name, planted, seen, agree in found:
        table.add_row(name, planted, seen, "yes" if agree else "NO")
    console.print(table)
    report = {"customers": args.customers, "records": records, "cx_run_seconds": round(seconds, 1),
              "marts": {m: {"grain": g, "rows": sizes[m]} for m, g in grains().items()},
              "truths": [dict(zip(("truth", "planted", "found", "agree"), row)) for row in found]}
    (args.cache / "truths.json").write_text(json.dumps(report, indent=2))
    console.print(f"written: {args.cache / 'truths.json'}")
    return 0 if all(row[3] for row in found) else 1


if __name__ == "__main__":
    sys.exit(main())
