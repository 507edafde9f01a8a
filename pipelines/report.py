"""`cx report`: one self-contained HTML file that answers the marts' questions at a glance.

Charts are drawn with Vega-Altair and rendered to static SVG by vl-convert (no browser, no network),
then written inline: the file opens from disk with no script and no CDN. Every section names the mart
it reads, its n, and flags what should not be read as a finding: cells with few answers, and months the
data covers only in part.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import altair as alt
import pandas as pd
import pyarrow as pa
import vl_convert

from pipelines.warehouse import open_warehouse

PHASES = ("looking_and_deciding", "taking_the_leap", "i_have_it_now_what", "first_success", "part_of_core", "telling_others")
PHASE_LABELS = dict(zip(PHASES, ("Looking & Deciding", "Taking The Leap", "I Have It Now What?", "Your First Success",
                                 "Making It Part Of Your Core", "Telling Others")))
# A cell with fewer answers or contacts than this is drawn, but flagged: too few to read as a finding.
SMALL_N = 30
WIDTH = 620


@dataclass
class Shown:
    """A table of a section: its rows, how to format its columns, and a heading."""

    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    heading: str | None = None
    limit: int = 12


@dataclass
class Section:
    """One question of the report: its charts (SVG), tables (HTML), and what to be careful with."""

    id: str
    title: str
    question: str
    marts: tuple[str, ...]
    n: int = 0
    n_label: str = "rows"
    charts: list[alt.TopLevelMixin] = field(default_factory=list)
    tables: list[Shown] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    empty: str | None = None  # why there is nothing to show
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, URI)


def svg(chart: alt.TopLevelMixin) -> str:
    """A chart as inline SVG, without its XML prolog."""
    rendered = vl_convert.vegalite_to_svg(chart.to_dict())
    return rendered[rendered.index("<svg"):]


def phase_label(code: str | None) -> str:
    return PHASE_LABELS.get(code, code or "(none)")


def table_html(frame: pd.DataFrame, formats: dict[str, str] | None = None, limit: int = 12) -> str:
    """A small HTML table of the first `limit` rows; values escaped, numbers formatted."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.head(limit).itertuples(index=False):
        cells = []
        for name, value in zip(frame.columns, record):
            if value is None or pd.isna(value):
                text = "–"
            elif name in formats:
                text = formats[name].format(value)
            elif isinstance(value, pd.Timestamp):
                text = value.strftime("%Y-%m-%d")
            elif isinstance(value, float) and value.is_integer():
                text = f"{int(value):,}"
            else:
                text = str(value)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f"<td{' class=num' if numeric else ''}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def query(con, sql: str) -> pd.DataFrame:
    """A query's result as pandas for charting: decimals as floats (not Decimal objects), dates as datetimes."""
    table = con.sql(sql).to_arrow_table()
    for i, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.float64()))
    return table.to_pandas(date_as_object=False)


def root_causes(con) -> Section:
    section = Section("root-causes", "Root causes", "Why do customers contact us, and which few reasons make most of it?",
                      ("marts.root_causes", "marts.reason_trust"), n_label="contacts")
    by_reason = query(con, """
        select reason_code, any_value(reason_dimension) as reason_dimension, sum(contacts)::bigint as contacts,
               sum(unresolved_contacts)::bigint as unresolved, sum(repeat_contacts)::bigint as repeats
        from root_causes group by reason_code order by contacts desc, reason_code""")
    if by_reason.empty:
        section.empty = "No contacts with a reason yet."
        return section
    total = int(by_reason["contacts"].sum())
    section.n = total
    by_reason["share"] = by_reason["contacts"] / total
    by_reason["cumulative_share"] = by_reason["share"].cumsum()
    order = list(by_reason["reason_code"])
    base = alt.Chart(by_reason).encode(x=alt.X("reason_code:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40)))
    bars = base.mark_bar(color="#4c78a8").encode(y=alt.Y("contacts:Q", title="contacts"),
                                                 tooltip=["reason_code", "contacts"])
    line = base.mark_line(color="#e45756", point=True).encode(
        y=alt.Y("cumulative_share:Q", title="cumulative share", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
    section.charts.append(alt.layer(bars, line).resolve_scale(y="independent").properties(width=WIDTH, height=260))
    top = len(by_reason[by_reason["cumulative_share"].shift(fill_value=0) < 0.8])
    section.flags.append(f"{top} of {len(by_reason)} reasons make 80% of the {total:,} contacts.")
    examples = query(con, """
        select reason_code, journey_phase, touchpoint, contacts, round(unresolved_rate, 3) as unresolved_rate,
               example_verbatims
        from root_causes order by pareto_rank limit 8""")
    examples["journey_phase"] = examples["journey_phase"].map(phase_label)
    section.tables.append(Shown(examples, {"unresolved_rate": "{:.0%}"}))
    trust = query(con, """
        select decided_by, confidence_band, sum(contacts)::bigint as contacts from reason_trust
        group by all order by contacts desc""")
    if not trust.empty:
        trust["share_of_contacts"] = trust["contacts"] / trust["contacts"].sum()
        section.tables.append(Shown(trust, {"share_of_contacts": "{:.0%}"}, "How the reasons were decided (reason_trust)"))
        unsure = trust[trust["confidence_band"].isin(["unknown", "below 0.5", "0.5-0.7"])]
        if len(unsure):
            section.flags.append(f"{unsure['share_of_contacts'].sum():.0%} of contacts have no reason, or one tagged with "
                                 "a confidence under 0.7: read their reasons' ranks with care.")
    small = by_reason[by_reason["contacts"] < SMALL_N]
    if len(small):
        section.flags.append(f"{len(small)} reasons have fewer than {SMALL_N} contacts: "
                             + ", ".join(small["reason_code"].head(6)) + ("…" if len(small) > 6 else "") + ".")
    return section


def effort_over_time(con) -> Section:
    section = Section("effort", "Effort per journey phase over time",
                      "Where in the journey is it hard to deal with us, and is it getting easier?",
                      ("marts.effort_by_phase", "marts.effort_by_touchpoint", "marts.contact_episodes", "marts.cx_scores"),
                      n_label="episodes")
    effort = query(con, """
        select journey_phase, month, episodes, ces_responses, effort_index, is_partial_month
        from effort_by_phase where effort_index is not null order by month, journey_phase""")
    if effort.empty:
        section.empty = "No contact episodes or CES answers yet."
        return section
    section.n = int(effort["episodes"].sum())
    effort["phase"] = effort["journey_phase"].map(phase_label)
    effort["small_or_partial"] = [bool(p) or (e + c) < SMALL_N
                                  for p, e, c in zip(effort["is_partial_month"], effort["episodes"], effort["ces_responses"])]
    phase_colour = alt.Color("phase:N", sort=[PHASE_LABELS[p] for p in PHASES], title="phase")
    # Lines join only the months that can be read; a small or partial cell is a hollow point on its own.
    lines = alt.Chart(effort[~effort["small_or_partial"]]).mark_line().encode(
        x=alt.X("month:T", title=None), y=alt.Y("effort_index:Q", title="effort index (0 easy – 100 hard)"), color=phase_colour)
    points = alt.Chart(effort).mark_point(size=45).encode(
        x="month:T", y="effort_index:Q", color=phase_colour,
        fill=alt.condition("datum.small_or_partial", alt.value("white"), alt.Color("phase:N", legend=None)),
        shape=alt.Shape("small_or_partial:N", title="small n or partial month (hollow)",
                        scale=alt.Scale(domain=[False, True], range=["circle", "diamond"])))
    section.charts.append(alt.layer(lines, points).properties(width=WIDTH, height=260))
    partial = sorted({m.strftime("%Y-%m") for m, p in zip(effort["month"], effort["is_partial_month"]) if p})
    if partial:
        section.flags.append(f"Partial months (the data covers them only in part): {', '.join(partial)}; "
                             "a drop there is not an improvement.")
    small = int(sum(1 for s, p in zip(effort["small_or_partial"], effort["is_partial_month"]) if s and not p))
    if small:
        section.flags.append(f"{small} phase-months have fewer than {SMALL_N} episodes and CES answers (hollow diamonds, not joined by lines).")
    hardest = query(con, f"""
        with per_touchpoint as (
            select journey_phase, touchpoint, sum(episodes)::bigint as episodes,
                   sum(effort_index * (episodes + ces_responses)) / nullif(sum(episodes + ces_responses), 0) as effort_index
            from effort_by_touchpoint where effort_index is not null group by all
        )
        select journey_phase, touchpoint, episodes, round(effort_index, 1) as effort_index
        from per_touchpoint where episodes >= {SMALL_N}
        qualify row_number() over (partition by journey_phase order by effort_index desc, touchpoint) = 1
        order by effort_index desc""")
    if not hardest.empty:
        hardest["journey_phase"] = hardest["journey_phase"].map(phase_label)
        section.tables.append(Shown(hardest, heading=f"The hardest touchpoint in each phase (effort_by_touchpoint; {SMALL_N}+ episodes)"))
    [(repeat,)] = con.sql("select count_if(contacts > 1) / nullif(count(*), 0) from contact_episodes").fetchall()
    if repeat is not None:
        section.flags.append(f"{repeat:.0%} of contact episodes took more than one contact (contact_episodes).")
    scores = query(con, """
        select value as journey_phase, month, nps, nps_answers, csat_pct, csat_answers, ces_mean, ces_answers,
               is_partial_month, nps_small_n, csat_small_n, ces_small_n
        from cx_scores where dimension = 'journey_phase' and month is not null order by month""")
    if not scores.empty:
        scores["phase"] = scores["journey_phase"].map(phase_label)
        long = pd.concat([
            pd.DataFrame({"phase": scores["phase"], "month": scores["month"], "score": name, "value": scores[col],
                          "answers": scores[n], "flagged": [bool(a) or bool(b) for a, b in zip(scores[small_flag], scores["is_partial_month"])]})
            for name, col, n, small_flag in (("NPS", "nps", "nps_answers", "nps_small_n"), ("CSAT %", "csat_pct", "csat_answers", "csat_small_n"),
                                             ("CES mean", "ces_mean", "ces_answers", "ces_small_n"))])
        long = long[long["value"].notna()]
        chart = alt.Chart(long).mark_line(point=True).encode(
            x=alt.X("month:T", title=None), y=alt.Y("value:Q", title=None),
            color=alt.Color("phase:N", sort=[PHASE_LABELS[p] for p in PHASES]),
            opacity=alt.Opacity("flagged:N", scale=alt.Scale(domain=[False, True], range=[1.0, 0.35]), title="small n or partial"),
        ).properties(width=WIDTH // 3 - 20, height=180).facet(column=alt.Column("score:N", title=None)).resolve_scale(y="independent")
        section.charts.append(chart)
        section.flags.append(f"CES / CSAT / NPS cells with fewer than their minimum answers are drawn faint "
                             f"({int(long['flagged'].sum())} of {len(long)}).")
    return section


def funnel(con) -> Section:
    section = Section("funnel", "Journey funnel", "How far do customers get, where do they drop off, and where do they step back?",
                      ("marts.phase_funnel", "marts.journey_paths", "marts.journey_progress"), n_label="customers")
    stages = query(con, """
        select journey_phase, phase_index, customers_reached, conversion_to_next, dropped_here, stalled_here, drop_off_rate
        from phase_funnel order by phase_index""")
    if stages.empty or not stages["customers_reached"].sum():
        section.empty = "No customer has a journey phase yet."
        return section
    section.n = int(stages["customers_reached"].max())
    stages["phase"] = stages["journey_phase"].map(phase_label)
    order = list(stages["phase"])
    bars = alt.Chart(stages).mark_bar(color="#54a24b").encode(
        y=alt.Y("phase:N", sort=order, title=None), x=alt.X("customers_reached:Q", title="customers who reached the phase"))
    dropped = alt.Chart(stages).mark_bar(color="#e45756").encode(
        y=alt.Y("phase:N", sort=order), x=alt.X("dropped_here:Q"))
    section.charts.append(alt.layer(bars, dropped).properties(width=WIDTH, height=200,
                                                              title="reached (green), dropped out there (red)"))
    stages_table = stages[["phase", "customers_reached", "conversion_to_next", "dropped_here", "stalled_here", "drop_off_rate"]]
    section.tables.append(Shown(stages_table, {"conversion_to_next": "{:.0%}", "drop_off_rate": "{:.0%}"}))
    status = query(con, """
        select journey_status, count(*)::bigint as customers from journey_progress group by all order by customers desc""")
    if not status.empty:
        status["share"] = status["customers"] / status["customers"].sum()
        section.tables.append(Shown(status, {"share": "{:.0%}"}, "Where customers are now (journey_progress)"))
    paths = query(con, """
        select path, customers, share_of_customers from journey_paths
        where path_kind = 'with_backtracking' and has_backtracking order by customers desc limit 8""")
    if paths.empty:
        section.flags.append("No backtracking path yet.")
    else:
        section.tables.append(Shown(paths, {"share_of_customers": "{:.1%}"}, "Most common paths that step back"))
    small = stages[stages["customers_reached"] < SMALL_N]
    if len(small):
        section.flags.append("Phases reached by fewer than {} customers: {}.".format(SMALL_N, ", ".join(small["phase"])))
    return section


def expectation_gaps(con) -> Section:
    section = Section("expectation-gaps", "Expectation gaps", "Do our people, products or processes let customers down, and where?",
                      ("marts.expectation_gaps",), n_label="contacts")
    gaps = query(con, "select journey_phase, reason_dimension, contacts, expectation_gap from expectation_gaps")
    if gaps.empty:
        section.empty = "No contacts with a reason dimension yet."
        return section
    section.n = int(gaps["contacts"].sum())
    gaps["phase"] = gaps["journey_phase"].map(phase_label)
    gaps["label"] = [f"{g:.0%}" if pd.notna(g) else "" for g in gaps["expectation_gap"]]
    base = alt.Chart(gaps).encode(x=alt.X("reason_dimension:N", title=None),
                                  y=alt.Y("phase:N", sort=[PHASE_LABELS[p] for p in PHASES], title=None))
    heat = base.mark_rect().encode(color=alt.Color("expectation_gap:Q", title="gap", scale=alt.Scale(scheme="reds")))
    text = base.mark_text(fontSize=11).encode(text="label:N")
    section.charts.append(alt.layer(heat, text).properties(width=WIDTH // 2, height=220))
    small = gaps[gaps["contacts"] < SMALL_N]
    if len(small):
        section.flags.append(f"{len(small)} cells rest on fewer than {SMALL_N} contacts.")
    return section


def perception(con) -> Section:
    section = Section("perception", "Perception gap", "Do leadership and staff see the customer's experience as customers do?",
                      ("marts.perception_gaps",), n_label="answers")
    gaps = query(con, """
        select question, journey_phase, leadership_score, leadership_respondents, staff_score, staff_respondents,
               customer_score, customer_responses, widest_gap, widest_gap_group, gap_rank
        from perception_gaps order by gap_rank""")
    if gaps.empty:
        section.empty = "No internal survey answers yet."
        return section
    section.n = int(pd.concat([gaps["leadership_respondents"], gaps["staff_respondents"], gaps["customer_responses"]]).fillna(0).sum())
    long = pd.concat([pd.DataFrame({"question": gaps["question"], "phase": gaps["journey_phase"].map(phase_label),
                                    "group": who, "score": gaps[col]}) for who, col in
                      (("leadership", "leadership_score"), ("staff", "staff_score"), ("customers", "customer_score"))])
    long = long[long["score"].notna()]
    chart = alt.Chart(long).mark_point(filled=True, size=70).encode(
        y=alt.Y("phase:N", sort=[PHASE_LABELS[p] for p in PHASES], title=None), x=alt.X("score:Q", title="score (0–100)"),
        color=alt.Color("group:N", scale=alt.Scale(domain=["leadership", "staff", "customers"], range=["#e45756", "#f58518", "#4c78a8"])),
    ).properties(width=WIDTH // 3 - 10, height=200).facet(column=alt.Column("question:N", title=None))
    section.charts.append(chart)
    section.tables.append(Shown(gaps[["question", "journey_phase", "leadership_score", "staff_score", "customer_score",
                                           "widest_gap", "widest_gap_group"]].head(6), {"leadership_score": "{:.0f}",
                                                                                        "staff_score": "{:.0f}", "customer_score": "{:.0f}",
                                                                                        "widest_gap": "{:.0f}"}))
    few = gaps[(gaps["leadership_respondents"].fillna(0) < 5) | (gaps["staff_respondents"].fillna(0) < 5)]
    if len(few):
        section.flags.append(f"{len(few)} rows rest on fewer than 5 leadership or staff respondents.")
    return section


def closed_loop(con) -> Section:
    section = Section("closed-loop", "Closed-loop actions", "Did what we changed work?",
                      ("marts.action_tracking", "marts.root_cause_ownership"), n_label="actions")
    actions = query(con, """
        select action_id, root_cause, status, owner, done_on, contacts_before, contacts_after,
               unresolved_rate_before, unresolved_rate_after, unresolved_did, verdict
        from action_tracking order by action_id""")
    if actions.empty:
        section.empty = "No closed-loop actions recorded (data/raw/_actions.csv)."
        return section
    section.n = len(actions)
    judged = actions[actions["unresolved_rate_before"].notna() & actions["unresolved_rate_after"].notna()]
    if not judged.empty:
        long = pd.concat([pd.DataFrame({"action": judged["action_id"] + " " + judged["root_cause"] + ": " + judged["verdict"].fillna("–"),
                                        "when": when,
                                        "unresolved_rate": judged[col], "verdict": judged["verdict"].fillna("–")})
                          for when, col in (("before", "unresolved_rate_before"), ("after", "unresolved_rate_after"))])
        chart = alt.Chart(long).mark_bar().encode(
            x=alt.X("when:N", sort=["before", "after"], title=None), y=alt.Y("unresolved_rate:Q", axis=alt.Axis(format="%")),
            color=alt.Color("when:N", scale=alt.Scale(domain=["before", "after"], range=["#bab0ac", "#4c78a8"]), legend=None),
            column=alt.Column("action:N", title=None, header=alt.Header(labelAngle=0)),
        ).properties(width=80, height=180)
        section.charts.append(chart)
    else:
        section.flags.append("No finished action has contacts on both sides of its done date yet.")
    shown = actions[["action_id", "root_cause", "status", "owner", "done_on", "contacts_before", "contacts_after",
                     "unresolved_rate_before", "unresolved_rate_after", "verdict"]].rename(
        columns={"contacts_before": "contacts before", "contacts_after": "contacts after",
                 "unresolved_rate_before": "unresolved before", "unresolved_rate_after": "unresolved after"})
    section.tables.append(Shown(shown, {"unresolved before": "{:.0%}", "unresolved after": "{:.0%}"}))
    unowned = query(con, "select root_cause, contacts from root_cause_ownership where is_top and not has_owner order by contact_rank")
    if len(unowned):
        section.flags.append("Top root causes nobody owns: " + ", ".join(
            f"{cause} ({contacts:,} contacts)" for cause, contacts in zip(unowned["root_cause"], unowned["contacts"])) + ".")
    unjudged = actions[actions["verdict"].isin(["too_few_contacts", "too_early", "no_baseline"])]
    if len(unjudged):
        section.flags.append("Not judged yet: " + ", ".join(f"{a} ({v.replace('_', ' ')})"
                                                            for a, v in zip(unjudged["action_id"], unjudged["verdict"])) + ".")
    return section


def effort_outcomes(con) -> Section:
    section = Section("churn-revenue", "Effort → churn and revenue", "Do customers who work hard to deal with us leave, and what is at stake?",
                      ("marts.effort_outcomes", "marts.reason_drivers"), n_label="customers")
    rows = query(con, "select dimension, segment, customers, churn_rate, churn_lift, revenue, revenue_at_risk from effort_outcomes")
    bands = rows[rows["dimension"] == "effort_band"].copy()
    if bands.empty:
        section.empty = "No customers with an effort band yet."
        return section
    section.n = int(bands["customers"].sum())
    churn = alt.Chart(bands).mark_bar(color="#e45756").encode(
        x=alt.X("segment:N", sort=["low", "medium", "high"], title="effort band"),
        y=alt.Y("churn_rate:Q", title="churn rate", axis=alt.Axis(format="%"))).properties(width=WIDTH // 3, height=200)
    risk = rows[(rows["dimension"] == "root_cause") & rows["revenue_at_risk"].notna()].sort_values("revenue_at_risk", ascending=False).head(10)
    charts = [churn]
    if not risk.empty:
        charts.append(alt.Chart(risk).mark_bar(color="#f58518").encode(
            y=alt.Y("segment:N", sort="-x", title=None), x=alt.X("revenue_at_risk:Q", title="revenue at risk"),
        ).properties(width=WIDTH // 2, height=200))
    section.charts.append(alt.hconcat(*charts))
    section.tables.append(Shown(bands[["segment", "customers", "churn_rate", "churn_lift", "revenue"]],
                                     {"churn_rate": "{:.1%}", "churn_lift": "{:.2f}", "revenue": "{:,.0f}"}))
    drivers = query(con, """
        select outcome, reason_code, round(lift, 2) as lift, round(lift_ci_low, 2) as lift_ci_low, exposed, p_value_holm
        from reason_drivers where is_driver order by outcome, lift desc""")
    section.tables.append(Shown(drivers, {"p_value_holm": "{:.3g}"}, "Reasons that drive high effort or churn (reason_drivers)")
                          if not drivers.empty else Shown(pd.DataFrame({"reason_drivers": ["no reason passes the driver tests"]})))
    small = rows[(rows["customers"] < SMALL_N)]
    if len(small):
        section.flags.append(f"{len(small)} segments have fewer than {SMALL_N} customers; their churn rates are noisy.")
    return section


def data_quality(con, quality: list[dict]) -> Section:
    """Each published run's gate result, failed records and quarantined files (from the runs' manifests)."""
    section = Section("data-quality", "Data quality", "What did each run read, reject and hold back, and did its gate pass?",
                      ("marts.identity_types", "lake runs/<run>/manifest.json", "runs/<run>/quality/gate.json"), n_label="runs")
    if not quality:
        section.empty = "No run manifests found."
        return section
    section.n = len(quality)
    frame = pd.DataFrame(quality)
    chart = alt.Chart(frame).mark_bar().encode(
        x=alt.X("run_id:N", title=None, axis=alt.Axis(labelAngle=-30)), y=alt.Y("failed:Q", title="failed records"),
        color=alt.Color("gate:N", scale=alt.Scale(domain=["passed", "failed", "not run"], range=["#54a24b", "#e45756", "#bab0ac"])),
    ).properties(width=WIDTH, height=160)
    section.charts.append(chart)
    shown = frame[["run_id", "read", "good", "failed", "quarantined_files", "gate", "gate_failures"]]
    section.tables.append(Shown(shown, limit=20))
    section.links = [(f"{row['run_id']}: Great Expectations data docs", row["gate_report"]) for row in quality if row["gate_report"]]
    identities = query(con, """
        select customer_id_type, is_pseudo_customer, customer_ids, interactions, share_of_interactions
        from identity_types order by interactions desc""")
    if not identities.empty:
        section.tables.append(Shown(identities, {"share_of_interactions": "{:.1%}"}, "Who the interactions belong to (identity_types)"))
        pseudo = identities[identities["is_pseudo_customer"].astype(bool)]["share_of_interactions"].sum()
        section.flags.append(f"{pseudo:.1%} of interactions belong to identities that are not customers (anonymous, reviewers, ...).")
    if int(frame["quarantined_files"].sum()):
        section.flags.append(f"{int(frame['quarantined_files'].sum())} files were held back whole (quarantined) across these runs.")
    return section


def run_quality(lake: Path) -> list[dict]:
    """One row per run in the lake (the newest 20): counts from its manifest, its gate's verdict and data docs."""
    rows = []
    for manifest_path in sorted(Path(lake).glob("runs/*/manifest.json"))[-20:]:
        manifest = json.loads(manifest_path.read_text())
        totals = manifest.get("totals", {})
        gate_path = manifest_path.parent / "quality" / "gate.json"
        gate = json.loads(gate_path.read_text()) if gate_path.exists() else None
        docs = manifest_path.parent / "quality" / "docs" / "index.html"
        rows.append({"run_id": manifest_path.parent.name, "read": totals.get("read", 0), "good": totals.get("good", 0),
                     "failed": totals.get("failed", 0),
                     "quarantined_files": sum(1 for f in manifest.get("files", []) if f.get("quarantined")),
                     "gate": "not run" if gate is None else ("passed" if gate["success"] else "failed"),
                     "gate_failures": "; ".join(gate["failures"]) if gate else "",
                     "gate_report": docs.resolve().as_uri() if docs.exists() else None})
    return rows


SECTIONS = (root_causes, effort_over_time, funnel, expectation_gaps, perception, closed_loop, effort_outcomes)

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0; background: #fafafa; }
header, section { max-width: 980px; margin: 0 auto; padding: 16px 24px; }
header { border-bottom: 1px solid #ddd; }
section { background: #fff; margin-top: 16px; border: 1px solid #e4e4e4; border-radius: 6px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 4px 0; } h3 { font-size: 14px; margin: 12px 0 4px; }
.question { color: #555; margin: 0 0 8px; } .meta { color: #777; font-size: 12px; }
.flag { background: #fff6e0; border-left: 3px solid #f0a400; padding: 4px 8px; margin: 6px 0; font-size: 13px; }
.empty { color: #a00; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 3px 6px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
nav a { margin-right: 12px; }
figure { margin: 8px 0; overflow-x: auto; }
"""


def render(sections: list[Section], title: str, subtitle: str) -> str:
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        parts = [f'<section id="{s.id}" data-marts="{html.escape(" ".join(s.marts))}" data-n="{s.n}">',
                 f"<h2>{html.escape(s.title)}</h2>", f'<p class="question">{html.escape(s.question)}</p>',
                 f'<p class="meta">from {html.escape(", ".join(s.marts))} · n = {s.n:,} {html.escape(s.n_label)}</p>']
        if s.empty:
            parts.append(f'<p class="empty">{html.escape(s.empty)}</p>')
        parts += [f"<figure>{svg(chart)}</figure>" for chart in s.charts]
        parts += [f'<p class="flag">{html.escape(flag)}</p>' for flag in s.flags]
        parts += [(f"<h3>{html.escape(t.heading)}</h3>" if t.heading else "") + table_html(t.frame, t.formats, t.limit) for t in s.tables]
        if s.links:
            parts.append("<ul>" + "".join(f'<li><a href="{html.escape(uri)}">{html.escape(text)}</a></li>' for text, uri in s.links) + "</ul>")
        parts.append("</section>")
        body.append("\n".join(parts))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
            f"<header><h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(subtitle)}</p><nav>{nav}</nav></header>"
            + "\n".join(body) + "</body></html>")


def collect_sections(duckdb_path: Path, lake: Path | None = None) -> tuple[list[Section], str]:
    """Every section of the report, read from the warehouse (and the lake's runs, when given), and a line
    saying what data they rest on."""
    con = open_warehouse(Path(duckdb_path))
    try:
        sections = [make(con) for make in SECTIONS]
        sections.append(data_quality(con, run_quality(lake) if lake else []))
        [span] = con.sql("select min(occurred_at)::date, max(occurred_at)::date, count(*) from interactions").fetchall()
    finally:
        con.close()
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return sections, f"{span[2]:,} interactions from {span[0]} to {span[1]} · built {built} from {Path(duckdb_path).name}"


TITLE = "Customer interactions: what drives contact and effort"


def build_report(duckdb_path: Path, out_path: Path, lake: Path | None = None) -> tuple[Path, float]:
    """Write the report for the warehouse at `duckdb_path` (and the lake's runs, when given) to `out_path`;
    returns the path and the seconds it took."""
    started = time.perf_counter()
    sections, subtitle = collect_sections(duckdb_path, lake)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    partial.write_text(render(sections, TITLE, subtitle), encoding="utf-8")
    partial.replace(out_path)
    return out_path, time.perf_counter() - started
