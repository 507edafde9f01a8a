"""The end-of-run summary: what was read, what drives contacts, and where effort is highest."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from pipelines.warehouse import open_warehouse

TOP_ROOT_CAUSES = """
    select reason_code, journey_phase, touchpoint, contacts, unresolved_rate, repeat_rate, ces_mean, impact_score
    from root_causes order by impact_score desc, pareto_rank limit 5
"""
EFFORT_PER_PHASE = """
    select
        journey_phase,
        sum(episodes)::bigint as episodes,
        sum(ces_mean * ces_responses) / nullif(sum(ces_responses), 0) as ces_mean,
        sum(ces_easy_responses) / nullif(sum(ces_responses), 0) as ces_easy_rate,
        sum(first_contact_resolutions) / nullif(sum(episodes), 0) as fcr_rate,
        sum(repeat_contacts) / nullif(sum(contacts), 0) as repeat_contact_rate,
        sum(transfers) / nullif(sum(episodes), 0) as transfers_per_episode,
        sum(effort_index * (episodes + ces_responses)) / nullif(sum(episodes + ces_responses), 0) as effort_index
    from effort_by_phase
    group by journey_phase
    order by effort_index desc
"""

CLOSED_LOOP = """
    select
        count(*)::bigint as actions,
        count_if(is_open)::bigint as open_actions,
        count_if(is_overdue)::bigint as overdue_actions,
        string_agg(action_id || ' ' || verdict, ', ' order by action_id) filter (where verdict is not null) as verdicts,
        (select count_if(has_owner)::bigint from root_cause_ownership where is_top) as top_owned,
        (select count(*)::bigint from root_cause_ownership where is_top) as top_causes
    from action_tracking
"""
WIDEST_PERCEPTION_GAP = """
    select question, journey_phase, widest_gap_group,
           case widest_gap_group when 'leadership' then leadership_gap else staff_gap end as gap
    from perception_gaps where gap_rank = 1 and widest_gap is not null
"""


def collect(duckdb_path: Path, manifest: dict) -> dict:
    """The figures the summary shows, as plain data."""
    per_touchpoint = defaultdict(lambda: {"files": 0, "read": 0, "good": 0, "failed": 0, "duplicates": 0, "written": 0})
    for f in manifest["files"]:
        row = per_touchpoint[f["touchpoint"] or "(unknown)"]
        row["files"] += 1
        for key in ("read", "good", "failed", "duplicates", "written"):
            row[key] += f[key]
    con = open_warehouse(duckdb_path)
    try:
        def rows(query):
            result = con.execute(query)
            names = [d[0] for d in result.description]
            return [dict(zip(names, r)) for r in result.fetchall()]
        return {"touchpoints": dict(sorted(per_touchpoint.items())), "totals": manifest["totals"], "manifest": manifest,
                "root_causes": rows(TOP_ROOT_CAUSES), "effort": rows(EFFORT_PER_PHASE),
                "closed_loop": rows(CLOSED_LOOP)[0], "perception": (rows(WIDEST_PERCEPTION_GAP) or [None])[0],
                "freshness": [(r["touchpoint"], r["latest"]) for r in rows(FRESHNESS)]}
    finally:
        con.close()


FRESHNESS = """
    select touchpoint, max(occurred_at) as latest from interactions group by touchpoint order by latest desc, touchpoint
"""


def age(seconds: float) -> str:
    """An age in the largest unit that keeps it short: 45s, 12m, 5h, 3d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def freshness(duckdb_path: Path, now: datetime | None = None) -> list[tuple[str, str]]:
    """(touchpoint, how old its newest event is), freshest first."""
    now = now or datetime.now(timezone.utc)
    con = open_warehouse(duckdb_path)
    try:
        return [(touchpoint, age((now - latest).total_seconds())) for touchpoint, latest in con.sql(FRESHNESS).fetchall()]
    finally:
        con.close()


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(title: str, columns: list[str], names: tuple[str, ...]) -> Table:
    """A compact table: no side borders, names never wrapped or cut (numbers give way first)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False,
                  collapse_padding=True, title_justify="left")
    for column in columns:
        if column in names:
            table.add_column(column, no_wrap=True, overflow="fold")
        else:
            table.add_column(column, justify="right", no_wrap=True)
    return table


# In a terminal narrower than this, the root causes leave out repeat rate and CES, and show the touchpoint
# under the phase.
WIDE = 100


def render(console: Console, figures: dict, duckdb_path: Path, exports_dir: Path, seconds: dict[str, float],
           report: Path | None = None) -> None:
    """The summary as tables that fit an 80-column terminal without cutting a touchpoint, reason or phase name."""
    ingest = _table("Ingest per touchpoint (read = good + failed; written = good - duplicates)",
                    ["touchpoint", "files", "read", "good", "failed", "dupes", "written"], ("touchpoint",))
    for name, row in figures["touchpoints"].items():
        ingest.add_row(name, *(f"{row[k]:,}" for k in ("files", "read", "good", "failed", "duplicates", "written")))
    t = figures["totals"]
    ingest.add_row("total", "", *(f"{t[k]:,}" for k in ("read", "good", "failed", "duplicates", "written")), style="bold")
    console.print(ingest)
    for line in _notes(figures["manifest"]):
        console.print(line, highlight=False)

    wide = console.width >= WIDE
    where = ["phase", "touchpoint"] if wide else ["phase / touchpoint"]
    causes = _table("Top 5 root causes (by impact score)",
                    ["reason", *where, "contacts", "unres."] + (["repeat", "CES"] if wide else []) + ["impact"],
                    ("reason", *where))
    for r in figures["root_causes"]:
        named = [r["journey_phase"], r["touchpoint"]] if wide else [f"{r['journey_phase']}\n{r['touchpoint']}"]
        extra = [_pct(r["repeat_rate"]), _num(r["ces_mean"], 1)] if wide else []
        causes.add_row(r["reason_code"], *named, f"{r['contacts']:,}", _pct(r["unresolved_rate"]), *extra, _num(r["impact_score"], 0))
    console.print(causes)

    effort = _table("Effort per journey phase (hardest first)",
                    ["phase", "episodes", "CES", "easy", "FCR", "repeat", "xfer/ep", "effort"], ("phase",))
    for r in figures["effort"]:
        effort.add_row(r["journey_phase"], f"{r['episodes']:,}", _num(r["ces_mean"]), _pct(r["ces_easy_rate"]), _pct(r["fcr_rate"]),
                       _pct(r["repeat_contact_rate"]), _num(r["transfers_per_episode"]), _num(r["effort_index"], 1))
    console.print(effort)
    for line in _findings(figures):
        console.print(line, highlight=False)

    if figures.get("freshness"):
        now = datetime.now(timezone.utc)
        console.print("Freshness (newest event per touchpoint): "
                      + ", ".join(f"{t} {age((now - latest).total_seconds())}" for t, latest in figures["freshness"]), highlight=False)
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items())
    console.print(f"[bold]Done[/] ({timing}).")
    if report is not None:
        console.print(f"Report: {report}", soft_wrap=True, highlight=False)
    console.print(f"DuckDB warehouse: {duckdb_path}", soft_wrap=True, highlight=False)
    console.print(f"Parquet exports for BI: {exports_dir}/", soft_wrap=True, highlight=False)
    query = "select reason_code, journey_phase, touchpoint, contacts, impact_score from root_causes order by impact_score desc limit 10"
    console.print("Query it:", style="bold")
    console.print(f"  .venv/bin/cx query \"{query}\"", soft_wrap=True, highlight=False, markup=False)


def _findings(figures: dict) -> list[str]:
    """One line each on the closed loop and the widest perception gap."""
    loop, lines = figures["closed_loop"], []
    if loop["actions"]:
        lines.append(f"Closed loop: {loop['actions']} actions, {loop['open_actions']} open ({loop['overdue_actions']} overdue); "
                     f"finished: {loop['verdicts'] or 'none'}; {loop['top_owned']} of the top {loop['top_causes']} root causes "
                     "have an owner (action_tracking)")
    else:
        lines.append("Closed loop: no actions file (--actions, default <input>/_actions.csv)")
    gap = figures["perception"]
    if gap:
        lines.append(f"Widest perception gap: {gap['widest_gap_group']} vs customers on {gap['question']} in "
                     f"{gap['journey_phase']}, {gap['gap']:+.0f} points (perception_gaps)")
    return lines


def _notes(manifest: dict) -> list[str]:
    """One line each on identity stitching, redaction and what an incremental run carried over."""
    notes = []
    identity = manifest.get("identity")
    if identity:
        largest = identity["largest"][0]["identifiers"] if identity["largest"] else 0
        notes.append(f"Identity: {identity['identifiers']:,} identifiers -> {identity['customers']:,} customers; "
                     f"{identity['hub_count']} shared identifiers (hubs) cut off, {identity['blocked_links']:,} links to "
                     f"blocked values dropped; largest customer {largest} identifiers (identity_report.json)")
    redacted = manifest.get("redacted")
    if redacted:
        notes.append("PII redacted: " + ", ".join(f"{k.lower()} {v:,}" for k, v in redacted.items())
                     + (" (demo salt: set CX_PII_SALT for real data)" if manifest.get("pii_salt") == "demo" else ""))
    incremental = manifest.get("incremental")
    if incremental and incremental.get("previous_run"):
        notes.append(f"Incremental: {incremental['files_read']} files read, {incremental['files_unchanged']} unchanged; "
                     f"{incremental['superseded']} records superseded, {incremental['rows_restitched']} re-stitched")
    return notes


def render_comparison(console: Console, results: dict[str, dict]) -> None:
    """`cx eval-tags --compare ...`: two settings side by side, overall and per reason."""
    names = list(results)
    overall = Table(title="Side by side")
    overall.add_column("measure")
    for name in names:
        overall.add_column(name, justify="right")
    for key in ("accuracy", "macro_f1", "coverage", "accuracy_when_tagged", "texts_per_s"):
        overall.add_row(key, *(f"{results[n][key]:,.0f}" if key == "texts_per_s" else f"{results[n][key]:.3f}" for n in names))
    console.print(overall)
    per = Table(title="F1 per reason")
    per.add_column("reason")
    for name in names:
        per.add_column(name, justify="right")
    per.add_column("change", justify="right")
    reasons = sorted(set().union(*(r["per_reason"] for r in results.values())))
    f1 = {n: {r: results[n]["per_reason"].get(r, {}).get("f1", 0.0) for r in reasons} for n in names}
    for reason in sorted(reasons, key=lambda r: f1[names[-1]][r] - f1[names[0]][r]):
        per.add_row(reason, *(f"{f1[n][reason]:.2f}" for n in names), f"{f1[names[-1]][reason] - f1[names[0]][reason]:+.2f}")
    console.print(per)


def render_evaluation(console: Console, result: dict) -> None:
    """`cx eval-tags` as tables."""
    console.print(f"[bold]{result['n']:,} texts, tiers {', '.join(result['tiers'])}[/]: accuracy {result['accuracy']:.3f}, "
                  f"macro-F1 {result['macro_f1']:.3f}, coverage {result['coverage']:.3f} "
                  f"(accuracy when tagged {result['accuracy_when_tagged']:.3f}), {result['texts_per_s']:,.0f} texts/s")
    console.print("decided by: " + ", ".join(f"{k} {v}" for k, v in sorted(result["by_method"].items())))
    console.print("by confidence: " + ", ".join(f"{b['band']}: {b['share']:.0%} of texts, {b['accuracy']:.0%} right"
                                                for b in result["by_confidence"]))
    if result["labels_not_in_taxonomy"]:
        console.print("[yellow]labels the taxonomy does not know:[/] " + ", ".join(result["labels_not_in_taxonomy"]))
    per = Table(title="Per reason")
    for column in ("reason", "precision", "recall", "F1", "support"):
        per.add_column(column, justify="left" if column == "reason" else "right")
    for reason, m in sorted(result["per_reason"].items(), key=lambda kv: kv[1]["f1"]):
        per.add_row(reason, f"{m['precision']:.2f}", f"{m['recall']:.2f}", f"{m['f1']:.2f}", str(m["support"]))
    console.print(per)
    worst = Table(title="Worst confusions")
    for column in ("label", "predicted", "count"):
        worst.add_column(column, justify="right" if column == "count" else "left")
    for c in result["worst_confusions"]:
        worst.add_row(c["label"], c["predicted"], str(c["count"]))
    console.print(worst)
