"""What every touchpoint adapter shares: how raw records are framed, mapped by SQL, and checked.

An adapter maps one tool's native export to the canonical record with one DuckDB query over a framed
chunk (an Arrow table: source_line, raw, frame_error, frame_message, plus `col_<name>` per CSV
column). DuckDB's vectorised JSON functions parse a whole chunk at once; a record that fails a check
gets an error type and message instead of being dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pyarrow as pa

from transforms.framing import Layout
from transforms.identity import IdentityConfig, load_identity
from transforms.io import RAW_PAYLOAD_LIMIT
from transforms.redact import pii_salt

# Timestamps arrive as ISO 8601 with offsets, epoch seconds or epoch milliseconds. `cx_ts` accepts all
# of them; `cx_ts_zoned` also demands that an ISO string says its zone (tools that always write one).
MACROS = [
    "set timezone = 'UTC'",
    # Epochs of 1e11 and above are milliseconds; beyond year ~5000 in either unit they are no time at all
    # (null, so the record's timestamp check fails it instead of the whole chunk raising).
    """create or replace macro cx_epoch(v) as case
         when abs(v::double) >= 1e14 then null
         when abs(v::double) >= 1e11 then to_timestamp(v::double / 1000) else to_timestamp(v::double) end""",
    """create or replace macro cx_ts(v) as case
         when v is null then null
         when regexp_full_match(v, '-?[0-9]+(\\.[0-9]+)?') then cx_epoch(v)
         else try_cast(v as timestamptz) end""",
    """create or replace macro cx_ts_zoned(v) as case
         when v is null then null
         when regexp_full_match(v, '-?[0-9]+(\\.[0-9]+)?') then cx_epoch(v)
         when regexp_matches(v, '(Z|[+-][0-9]{2}:?[0-9]{2})$') then try_cast(v as timestamptz)
         end""",
    # A phone number as digits and a leading '+', however it was written: the form identities hash.
    "create or replace macro cx_phone(v) as nullif(regexp_replace(v, '[^0-9+]', '', 'g'), '')",
    # HTML (message bodies of Intercom, Freshdesk, Zendesk) as plain text: scripts, styles and tags dropped,
    # the common entities decoded, white space collapsed; null when nothing is left.
    r"""create or replace macro cx_strip_html(v) as nullif(trim(regexp_replace(
         replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
             regexp_replace(regexp_replace(v, '<(script|style)[^>]*>.*?</(script|style)>', ' ', 'gis'), '<[^>]*>', ' ', 'g'),
             '&nbsp;', ' '), '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''), '&#x27;', ''''),
             '&rsquo;', ''''), '&lsquo;', ''''), '&rdquo;', '"'), '&ldquo;', '"'), '&hellip;', '...'), '&ndash;', '-'),
             '&mdash;', '-'), '&amp;', '&'),
         '\s+', ' ', 'g')), '')""",
    # An RFC 2822 date as Twilio writes it: 'Tue, 31 Aug 2010 20:36:28 +0000'.
    "create or replace macro cx_ts_rfc2822(v) as try_strptime(v, '%a, %d %b %Y %H:%M:%S %z')",
]


def quote_ident(name: str) -> str:
    """A column name as a quoted SQL identifier, whatever it contains: the one way names reach SQL."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(value: str) -> str:
    """A string as a SQL literal (for names that are values, such as JSON keys and paths)."""
    return "'" + value.replace("'", "''") + "'"

# Columns every adapter query must return, beyond the canonical source fields.
INTERNAL_COLUMNS = [
    ("linked_refs", pa.list_(pa.string())),  # other identifiers the record ties to the customer (adapters
                                             # return `linked_ref`: one identifier or a list of them)
    ("record_version", pa.int64()),    # higher supersedes lower for the same interaction_id
    ("error_type", pa.string()),
    ("error_message", pa.string()),
    ("raw_payload", pa.string()),
]


@dataclass(frozen=True)
class Check:
    """A record fails with `error_type` when `condition` (SQL over the mapped fields) is true.

    `error_type` is a name, or with `typed_by_sql` a SQL expression that picks the name per record."""

    condition: str
    error_type: str
    message: str  # SQL string expression
    typed_by_sql: bool = False


@dataclass(frozen=True)
class SourceAdapter:
    """One tool's native shape and its mapping to the canonical record.

    framing: 'json' (records that are JSON objects, however the file frames them: lines, a document,
    an array, concatenated objects, inside an envelope) or 'csv' (rows under a header). How a file is
    framed is told from its bytes (transforms/framing.py), never from this field.
    accepts: for JSON, a SQL condition over `j` (the parsed record) and `stream` (the entity name its
    envelope gave it: an API page's list key, an EL stream, or null): a folder's first adapter whose
    condition holds takes the record. None takes any record. For CSV, `required_columns` decide.
    paths: (alias, JSONPath) pairs, all extracted as text in one parse of the record; `fields` and
    `checks` use the aliases, or `j` for anything else, or `col_<name>` for CSV.
    fields: SQL select-list producing the canonical columns.
    consumed: top-level JSON keys or CSV columns mapped to fields; the rest goes to `attributes`.
    sideload_sql: a join over relation `sideload(stream, raw)`: objects a page carries beside its records.
    bind: for adapters whose columns depend on the file (a survey export's questions), a function of the
    file's Layout that returns the adapter to use for that file.
    """

    name: str
    framing: str
    fields: str
    checks: tuple[Check, ...]
    consumed: tuple[str, ...]
    paths: tuple[tuple[str, str], ...] = ()
    accepts: str | None = None
    sideload_sql: str | None = None
    required_columns: tuple[str, ...] = field(default=())
    bind: Callable[[Layout], SourceAdapter] | None = None

    def __post_init__(self):
        if self.framing in ("jsonl", "json_document"):  # names from when framing was the adapter's to say
            object.__setattr__(self, "framing", "json")
        if self.framing not in ("json", "csv"):
            raise ValueError(f"adapter {self.name}: framing is 'json' or 'csv', not {self.framing!r}")

    def takes_columns(self, header: tuple[str, ...]) -> bool:
        return set(self.required_columns) <= set(header)

    def attributes_sql(self, header: tuple[str, ...] | None) -> str:
        if self.framing == "csv":
            extra = [c for c in dict.fromkeys(header or ()) if c not in self.consumed]
            if not extra:
                return "null"
            pairs = ", ".join(f"{quote_text(c)}, {quote_ident('col_' + c)}" for c in extra)
            return f"json_object({pairs})::varchar"
        patch = json.dumps({k: None for k in self.consumed})
        return f"json_merge_patch(j, {quote_text(patch)})::varchar"

    def query(self, header: tuple[str, ...] | None = None) -> str:
        """The SQL that maps relation `frame` (and `sideload`) to canonical columns plus errors.

        Each record is parsed once; each check is evaluated once (its index picks type and message)."""
        checks = list(self.checks)
        if self.framing == "csv":
            parse, extract, values = "null::json", "", ""
        else:
            parse = "case when frame_error is null then try_cast(raw as json) end"  # one parse; null if not JSON
            checks = [Check("j is null", "malformed_json", "'record is not valid JSON'"),
                      Check("json_type(j) <> 'OBJECT'", "malformed_json",
                            "'record is a JSON ' || lower(json_type(j)) || ', not an object'")] + checks
            objects = "case when json_type(j) = 'OBJECT' then j end"
            if self.paths:
                listed = ", ".join(quote_text(path) for _, path in self.paths)
                values = ", ".join(f"_v[{i}] as {alias}" for i, (alias, _) in enumerate(self.paths, 1))
                extract = f", json_extract_string({objects}, [{listed}]) as _v"
            else:
                extract, values = "", ""
        missing = [c for c in self.required_columns if header is not None and c not in header]
        if missing:
            checks = [Check("true", "missing_column", quote_text("file has no column " + ", ".join(missing)))]
        which = "\n".join(f"            when {c.condition} then {i}" for i, c in enumerate(checks, 1))
        types = ", ".join(c.error_type if c.typed_by_sql else quote_text(c.error_type) for c in checks)
        messages = "\n".join(f"            when {i} then {c.message}" for i, c in enumerate(checks, 1))
        unpack = f"select * exclude (_v), {values} from extracted" if self.framing != "csv" and self.paths else "select * from extracted"
        return f"""
with parsed as (
    select *, {parse} as j from frame
),
extracted as (
    select *{extract} from parsed
),
unpacked as (
    {unpack}
),
mapped as (
    select unpacked.*,
{self.fields},
        {self.attributes_sql(header) if self.framing == "csv" else "case when json_type(j) = 'OBJECT' then " + self.attributes_sql(header) + " end"} as attributes
    from unpacked {self.sideload_sql or ""}
),
checked as (
    select *,
        case when frame_error is not null then 0
{which}
        end as _failed_check
    from mapped
)
select columns(lambda c: not starts_with(c, '_') and c not in ('raw', 'j', 'stream', 'frame_error', 'frame_message')),
    case when _failed_check = 0 then frame_error else [{types}][_failed_check] end as error_type,
    case _failed_check when 0 then frame_message
{messages}
    end as error_message,
    case when _failed_check is not null then left(raw, {RAW_PAYLOAD_LIMIT}) end as raw_payload
from checked
"""


def macro_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the shared macros, and nothing that needs the PII salt or the
    identity guards: for the steps that never see a personal value."""
    con = duckdb.connect()
    for statement in MACROS:
        con.execute(statement)
    return con


def connect(salt: str | None = None, identity: IdentityConfig | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the macros adapters use.

    `cx_pii_hash(v)` turns a personal identifier (an email, a phone number) into a salted SHA-256, so
    identities can be stitched on it without the value being stored; the salt defaults to pii_salt().
    A value the identity configuration blocks (a placeholder address, 0000000) hashes to 'blocked'."""
    con = macro_connection()
    quoted = quote_text(salt if salt is not None else pii_salt()[0])
    blocked = quote_text((identity or load_identity()).blocked_regex)
    con.execute(f"""create or replace macro cx_pii_hash(v) as case
        when v is null then null
        when regexp_matches(lower(trim(v)), {blocked}) then 'blocked'
        else left(sha256({quoted} || v), 32) end""")
    return con


def sql_case(expr: str, mapping: dict[str, str], otherwise: str) -> str:
    """A SQL case mapping the values of `expr` through `mapping` (a source's codes to ours), else `otherwise`."""
    quoted = " ".join(f"when {quote_text(k)} then {quote_text(v)}" for k, v in mapping.items())
    return f"case {expr} {quoted} else {otherwise} end"


def required(expr: str, name: str) -> Check:
    return Check(f"{expr} is null", "missing_field", f"'{name} is missing'")


def timestamp(expr_raw: str, expr_ts: str, name: str) -> Check:
    return Check(f"{expr_raw} is not null and {expr_ts} is null", "invalid_timestamp",
                 f"'{name} is not a timestamp (ISO 8601 with a zone, or epoch seconds or milliseconds): ' || left({expr_raw}, 60)")


def integer(expr_raw: str, name: str) -> Check:
    """A whole number that fits in 64 bits: a decimal or a word is invalid_type, a longer one out_of_range."""
    return Check(f"{expr_raw} is not null and trim({expr_raw}) <> '' and "
                 f"(not regexp_full_match(trim({expr_raw}), '[+-]?[0-9]+') or try_cast(trim({expr_raw}) as bigint) is null)",
                 f"case when regexp_full_match(trim({expr_raw}), '[+-]?[0-9]+') then 'out_of_range' else 'invalid_type' end",
                 f"case when regexp_full_match(trim({expr_raw}), '[+-]?[0-9]+') then '{name} is too large: ' "
                 f"else '{name} is not a whole number: ' end || left({expr_raw}, 60)", typed_by_sql=True)
