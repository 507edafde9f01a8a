"""DuckDB-native baseline: the closest equivalent of the ingest job in SQL, for the benchmark.

Reads each touchpoint's raw files with DuckDB's own readers, maps them with the same adapter SQL the
Beam job uses, applies the same generic checks, the same reason / outcome / phase rules from the
taxonomy, dedups on interaction_id, stitches identities one hop (links named in the same record) and
writes Parquet partitioned by date. No chunking, no Beam: everything in one DuckDB process.

    python benchmarks/duckdb_baseline.py --input data/raw --output /tmp/baseline
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from transforms.sources import default_adapters
from transforms.sources.base import connect, quote_ident
from transforms.tagging import load_taxonomy
from transforms.tagging.reasons import non_capturing


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))


def frame_sql(folder: Path, layout, list_key: str | None) -> str:
    """A SQL relation framed as the folder's first file is (told from its bytes), read natively by DuckDB."""
    listed = "[" + ", ".join(_quote(f) for f in _files(folder)) + "]"
    if layout.kind == "jsonl":
        return f"""select filename as source_file, row_number() over (partition by filename) as source_line, 0::bigint as source_item,
                      raw, null::varchar as stream, null::varchar as frame_error, null::varchar as frame_message
                   from read_csv({listed}, columns={{'raw': 'VARCHAR'}}, delim='\\x1e', quote='', escape='',
                                 header=false, filename=true, auto_detect=false, strict_mode=false)
                   where trim(raw) <> ''"""
    if layout.kind == "csv":
        header = layout.header
        columns = "{" + ", ".join(f"{_quote(c)}: 'VARCHAR'" for c in header) + "}"
        renamed = ", ".join(f"{quote_ident(c)} as {quote_ident('col_' + c)}" for c in header)
        raw = " || ',' || ".join(f"coalesce({quote_ident(c)}, '')" for c in header)
        return f"""select filename as source_file, row_number() over (partition by filename) + {layout.header_rows} as source_line,
                      0::bigint as source_item, {raw} as raw, null::varchar as stream, null::varchar as frame_error,
                      null::varchar as frame_message, {renamed}
                   from read_csv({listed}, columns={columns}, header=false, skip={layout.header_rows}, filename=true,
                                 delim={_quote(layout.delimiter)}, auto_detect=false, strict_mode=false, null_padding=true,
                                 ignore_errors=true)"""
    return f"""select filename as source_file, 1 as source_line, generate_subscripts(records, 1) - 1 as source_item,
                  unnest(records)::varchar as raw, {_quote(list_key)} as stream,
                  null::varchar as frame_error, null::varchar as frame_message
               from (select filename, json_extract(json, {_quote('$.' + list_key + '[*]')}) as records
                     from read_json_objects({listed}, format='auto', filename=true))"""


def sideload_sql(folder: Path, keys: list[str]) -> str:
    listed = "[" + ", ".join(_quote(f) for f in _files(folder)) + "]"
    if not keys:
        return "select null::varchar as stream, null::varchar as raw where false"
    return " union all ".join(f"""select {_quote(key)} as stream, unnest(json_extract(json, {_quote('$.' + key + '[*]')}))::varchar as raw
               from read_json_objects({listed}, format='auto')""" for key in keys)


def pick_adapter(folder: Path):
    """The folder's adapter that takes the records of its first file, as the job would route them, and
    the framing: (adapter, layout, list key of a page, side-loaded keys)."""
    import json as jsonlib
    from collections import Counter

    from pipelines.inspect import _head
    from transforms.framing import _list_key
    from transforms.parse import csv_adapter, route

    first = _files(folder)[0]
    framed, layout = _head(first, folder.name, 200)
    adapters = default_adapters()[folder.name]
    if layout.kind == "csv":
        adapter = csv_adapter(adapters, layout.header)
        return (adapter.bind(layout) if adapter.bind else adapter), layout, None, []
    json_adapters = tuple(a for a in adapters if a.framing == "json")
    routes = route(connect(), json_adapters, framed.records)
    adapter = json_adapters[Counter(routes.tolist()).most_common(1)[0][0] - 1]
    if layout.kind == "json":
        with open(first) as handle:
            key, sideloads = _list_key(jsonlib.load(handle))
        return adapter, layout, key, sideloads
    return adapter, layout, None, []


def tagging_sql(taxonomy) -> str:
    """Reason, outcome and phase as SQL CASE chains over the same taxonomy rules."""
    codes = [(key, r.code) for r in taxonomy.reasons for key in r.codes]
    code_case = " ".join(f"when {_quote(k)} then {_quote(v)}" for k, v in codes)
    rules = [(r.code, "(?i)(" + "|".join(f"(?:{non_capturing(p)})" for p in r.patterns) + ")") for r in taxonomy.reasons if r.patterns]
    rule_case = " ".join(f"when regexp_matches(text, {_quote(p)}) then {_quote(c)}" for c, p in rules)
    evidence_case = " ".join(f"when {_quote(c)} then regexp_extract(text, {_quote(p)}, 1)" for c, p in rules)
    dims = " ".join(f"when {_quote(r.code)} then {_quote(r.dimension)}" for r in taxonomy.reasons)
    hints = " ".join(f"when {_quote(r.code)} then {_quote(r.phase)}" for r in taxonomy.reasons if r.phase)
    outcome_codes = " ".join(f"when {_quote(t + ':' + c)} then {_quote(o)}" for t, m in taxonomy.outcome_codes.items() for c, o in m.items())
    cues = " ".join(f"when regexp_matches(text, {_quote('(?i)' + '|'.join(ps))}) then {_quote(o)}" for o, ps in taxonomy.outcome_cues)
    defaults = " ".join(f"when {_quote(t)} then {_quote(o)}" for t, o in taxonomy.outcome_defaults.items())
    phase_rules, signal_rules = [], []
    for rule in taxonomy.phase_rules:
        conditions = []
        if rule.interaction_type:
            conditions.append(f"interaction_type = {_quote(rule.interaction_type)}")
        if rule.source_code:
            conditions.append(f"regexp_matches(source_code, {_quote(rule.source_code)})")
        phase_rules.append(f"when {' and '.join(conditions)} then {_quote(rule.phase)}")
        signal_rules.append(f"when {' and '.join(conditions)} then {_quote(rule.signal)}")
    return f"""
    coded as (
        select *, case touchpoint || ':' || source_reason {code_case} end as code_reason,
                  case touchpoint || ':' || source_code {outcome_codes} end as code_outcome
        from deduped
    ),
    ruled as (
        select *, case when code_reason is null and text is not null and trim(text) <> '' then case {rule_case} end end as rule_reason
        from coded
    ),
    reasoned as (
        select *,
            coalesce(code_reason, rule_reason,
                     case when (text is not null and trim(text) <> '') or source_reason is not null then 'unknown' end) as reason_code,
            case when code_reason is not null then 'code' when rule_reason is not null then 'rule' end as reason_method,
            case when code_reason is not null then touchpoint || ':' || source_reason
                 else case rule_reason {evidence_case} end end as reason_evidence
        from ruled
    ),
    tagged as (
        select *,
            case reason_code {dims} end as reason_dimension,
            case when reason_code = 'unknown' then 0.0 when code_reason is not null then 0.95 when reason_code is not null then 0.8 end as reason_confidence,
            coalesce(code_outcome, case {cues} end, case touchpoint {defaults} end, 'not_applicable') as outcome,
            coalesce(case {' '.join(phase_rules)} end, case reason_code {hints} end) as journey_phase,
            coalesce(case {' '.join(signal_rules)} end, case when (case reason_code {hints} end) is not null then 'context' end) as phase_signal
        from reasoned
    )"""


def run(input_dir: Path, output: Path) -> dict:
    taxonomy = load_taxonomy()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    con = connect()
    parts = []
    for folder in sorted(p for p in input_dir.iterdir() if p.is_dir() and p.name in default_adapters()):
        adapter, layout, list_key, sideloads = pick_adapter(folder)
        con.execute(f"create or replace temp view frame as {frame_sql(folder, layout, list_key)}")
        con.execute(f"create or replace temp view sideload as {sideload_sql(folder, sideloads)}")
        con.execute(f"create temp table parsed_{folder.name} as {adapter.query(layout.header if layout.kind == 'csv' else None)}")
        parts.append(f"parsed_{folder.name}")
        kind = con.execute(f"select data_type from information_schema.columns where table_name = 'parsed_{folder.name}' and column_name = 'linked_ref'").fetchone()[0]
        linked = "unnest(linked_ref)" if kind.endswith("[]") else "linked_ref"  # one identifier or a list
        con.execute(f"create temp table links_{folder.name} as select source_customer_ref, {linked} as linked_ref "
                    f"from parsed_{folder.name} where error_type is null")
    con.execute("create temp table parsed as " + " union all by name ".join(f"select * exclude (linked_ref) from {p}" for p in parts))
    con.execute("create temp table record_links as " + " union all ".join(f"select * from links_{p.removeprefix('parsed_')}" for p in parts))
    checked = """
        create temp table checked as select *,
            coalesce(error_type,
                case when occurred_at < '2000-01-01'::timestamptz or occurred_at > now() + interval 1 day then 'timestamp_out_of_range'
                     when ces not between 1 and 7 or csat not between 1 and 5 or nps not between 0 and 10 then 'out_of_range'
                     when wait_seconds < 0 or handle_seconds < 0 or transfers < 0 then 'out_of_range' end) as final_error
        from parsed"""
    con.execute(checked)
    con.execute(f"copy (select * from checked where final_error is not null) to '{output}/failed.parquet' (format parquet)")
    stitched = f"""
    with good as (select * from checked where final_error is null),
    deduped as (
        select * from good
        qualify row_number() over (partition by interaction_id order by record_version desc nulls last, source_file, source_line, source_item) = 1
    ),
    {tagging_sql(taxonomy).strip()},
    links as (
        select distinct source_customer_ref as ref, linked_ref as other from record_links where linked_ref is not null
        union select distinct linked_ref, source_customer_ref from record_links where linked_ref is not null
    ),
    accounts as (
        select ref, min(other) as account from links where other like 'account:%' group by ref
    )
    select tagged.* exclude (code_reason, code_outcome, final_error, error_type, error_message, raw_payload),
        replace(coalesce(case when source_customer_ref like 'account:%' then source_customer_ref end, accounts.account, source_customer_ref), 'account:', '') as customer_id,
        strftime(occurred_at, '%Y-%m-%d') as occurred_date
    from tagged left join accounts on accounts.ref = tagged.source_customer_ref
    """
    con.execute(f"copy ({stitched}) to '{output}/interactions' (format parquet, compression zstd, partition_by (occurred_date))")
    read = con.execute("select count(*) from checked").fetchone()[0]
    failed = con.execute("select count(*) from checked where final_error is not null").fetchone()[0]
    written = con.execute(f"select count(*) from read_parquet('{output}/interactions/**/*.parquet')").fetchone()[0]
    return {"read": read, "failed": failed, "written": written}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = run(args.input, args.output)
    counts["seconds"] = time.perf_counter() - started
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
