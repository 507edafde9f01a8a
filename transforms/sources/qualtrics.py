"""Survey responses as a Qualtrics CSV or TSV export, one row per response, as people download it.

    StartDate,EndDate,Status,...,RecordedDate,ResponseId,...,ExternalReference,...,QID4,QID5_TEXT,...
    Start Date,End Date,Response Type,...,How easy was it to handle your issue?,Why?,...
    {"ImportId":"startDate","timeZone":"America/Denver"},...,{"ImportId":"QID4"},{"ImportId":"QID5_TEXT"},...

The current export has three header rows (export tags, question texts, ImportId objects); the legacy
export has two (V1..Vn over the metadata, whose names are in the second row). Both are recognised
from the bytes (transforms/framing.py). Which column is CES, CSAT, NPS, the verbatim, the customer's
reference and the touchpoint surveyed is said in the survey options of the touchpoints file, by
export tag or QID:

    survey:
      adapters: [transforms.sources.qualtrics:qualtrics_adapter, ...]
      options: {ces: QID4, nps: QID7, verbatim: QID5_TEXT, customer: CustomerId, timezone: Europe/Berlin}

Without options the columns are found from the question texts (recommend -> NPS, easy/effort -> CES,
satisfied -> CSAT, a free-text `_TEXT` column -> verbatim) and the common names (Q_CES, Q_NPS...).
Dates carry no offset: they are read in the export's own zone (the timeZone of its ImportId row), else
the `timezone` option, else UTC. The customer is ExternalReference (the legacy ExternalDataReference)
as an account, else the recipient's email as a salted hash; an anonymous response is a good record of
its own respondent ('survey_respondent:<ResponseId>').
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transforms.framing import Layout
from transforms.sources.base import Check, SourceAdapter, integer, quote_ident, quote_text, required, timestamp

ID_COLUMNS = ("ResponseId", "ResponseID")
DATE_COLUMNS = ("RecordedDate", "EndDate", "StartDate")
ACCOUNT_COLUMNS = ("ExternalReference", "ExternalDataReference")
EMAIL_COLUMNS = ("RecipientEmail", "EmailAddress")
# Common column names, then patterns over the question text, for each measure.
NAMES = {"ces": ("Q_CES", "CES"), "csat": ("Q_CSAT", "CSAT"), "nps": ("Q_NPS", "NPS"), "verbatim": ("Q_Verbatim",),
         "touchpoint": ("Q_Touchpoint",)}
QUESTIONS = {
    "nps": re.compile(r"\brecommend", re.I),
    "ces": re.compile(r"\b(easy|easier|effort)", re.I),
    "csat": re.compile(r"\bsatisf", re.I),
    "verbatim": re.compile(r"\b(why|tell us|comment|reason|describe|anything else)", re.I),
}
OPTION_KEYS = ("ces", "csat", "nps", "verbatim", "customer", "touchpoint", "timezone")


def _import_ids(layout: Layout) -> dict[str, str]:
    """Export tag -> ImportId (QID...) from the third header row."""
    ids = {}
    for name, cell in zip(layout.header or (), layout.meta or ()):
        try:
            ids[name] = json.loads(cell).get("ImportId", "")
        except (ValueError, AttributeError):
            continue
    return ids


def _zone(layout: Layout, default: str) -> str:
    for cell in layout.meta or ():
        try:
            zone = json.loads(cell).get("timeZone")
        except (ValueError, AttributeError):
            continue
        if zone:
            return zone
    return default


def find_columns(layout: Layout, options: dict) -> dict[str, str | None]:
    """Which column of this export holds each measure: from the options, else by name, else by question text."""
    header = tuple(layout.header or ())
    ids = _import_ids(layout)
    by_id = {v: k for k, v in ids.items()}
    labels = dict(zip(header, layout.labels or ()))
    found: dict[str, str | None] = {}
    for measure in ("ces", "csat", "nps", "verbatim", "touchpoint", "customer"):
        wanted = options.get(measure)
        if wanted:
            found[measure] = wanted if wanted in header else by_id.get(wanted)
            if found[measure] is None:
                raise ValueError(f"survey option {measure}: {wanted!r} is no column of the export")
            continue
        column = next((c for c in NAMES.get(measure, ()) if c in header), None)
        if column is None and measure in QUESTIONS:
            taken = set(found.values())
            for name in header:
                text = labels.get(name, "")
                if name in taken or not QUESTIONS[measure].search(text):
                    continue
                free_text = name.endswith("_TEXT") or ids.get(name, "").endswith("_TEXT")
                if (measure == "verbatim") == free_text or (measure == "verbatim" and not free_text and not column):
                    column = name
                    break
        if measure == "nps" and column is None:
            groups = [c for c in header if c.endswith("_NPS_GROUP")]
            column = groups[0][: -len("_NPS_GROUP")] if groups and groups[0][: -len("_NPS_GROUP")] in header else None
        found[measure] = column
    return found


def _first(header: tuple[str, ...], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in header), None)


def bind(layout: Layout, options: dict) -> SourceAdapter:
    """The adapter for one export: its columns found, its zone known."""
    header = tuple(layout.header or ())
    columns = find_columns(layout, options)
    zone = _zone(layout, options.get("timezone") or "UTC")
    bad_zone = ()
    if not _is_zone(zone):  # the export names a zone this machine does not know: its dates cannot be placed
        bad_zone = (Check("true", "invalid_timestamp", quote_text(f"the export's time zone {zone!r} is not a zone name")),)
        zone = "UTC"

    def col(name: str | None) -> str:
        return f"nullif(trim({quote_ident('col_' + name)}), '')" if name else "null::varchar"

    def score(name: str | None) -> str:
        return f"try_cast({col(name)} as integer)" if name else "null::integer"

    response_id, date = _first(header, ID_COLUMNS), _first(header, DATE_COLUMNS)
    account = columns["customer"] or _first(header, ACCOUNT_COLUMNS)
    email = _first(header, EMAIL_COLUMNS)
    consumed = tuple(c for c in (response_id, date, account, email, *(columns[m] for m in ("ces", "csat", "nps", "verbatim", "touchpoint")))
                     if c)
    fields = f"""
        {col(response_id)} as _id,
        {col(date)} as _ts,
        {col(columns["ces"])} as _ces, {col(columns["csat"])} as _csat, {col(columns["nps"])} as _nps,
        'survey:' || {col(response_id)} as interaction_id,
        'survey' as touchpoint,
        'self_service' as channel_type,
        'survey_response' as interaction_type,
        case when regexp_full_match({col(date)}, '-?[0-9]+(\\.[0-9]+)?')
                  or regexp_matches({col(date)}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') then cx_ts({col(date)})
             else timezone({quote_text(zone)}, try_cast({col(date)} as timestamp)) end as occurred_at,
        coalesce('account:' || {col(account)}, 'email:' || cx_pii_hash(lower({col(email)})),
                 'survey_respondent:' || {col(response_id)}) as source_customer_ref,
        case when {col(account)} is not null then 'email:' || cx_pii_hash(lower({col(email)})) end as linked_ref,
        {col(columns["verbatim"])} as text,
        {col(columns["touchpoint"])} as source_code,
        {score(columns["ces"])} as ces,
        {score(columns["csat"])} as csat,
        {score(columns["nps"])} as nps,
        null::bigint as record_version"""
    names = {m: columns[m] or m for m in ("ces", "csat", "nps")}
    return SourceAdapter(
        name="qualtrics",
        framing="csv",
        required_columns=(response_id or "ResponseId", date or "RecordedDate"),
        consumed=consumed,
        fields=fields,
        checks=(
            required("_id", "ResponseId"),
            required("_ts", date or "RecordedDate"),
            timestamp("_ts", "occurred_at", date or "RecordedDate"),
            integer("_ces", names["ces"]),
            integer("_csat", names["csat"]),
            integer("_nps", names["nps"]),
        ) + bad_zone,
    )


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return False
    return True


def qualtrics_adapter(options: dict | None = None) -> SourceAdapter:
    """A Qualtrics export adapter for the survey options of the touchpoints file (see the module docstring).

    It takes any CSV of its folder; the columns of each export are found when a file is read (`bind`)."""
    options = {k: v for k, v in (options or {}).items() if k in OPTION_KEYS}
    for key, value in options.items():
        if not isinstance(value, str):
            raise ValueError(f"{key} takes a column name, QID or zone name, not {value!r}")
    if "timezone" in options and not _is_zone(options["timezone"]):
        raise ValueError(f"timezone {options['timezone']!r} is not a time zone name (e.g. Europe/Berlin)")
    generic = bind(Layout("csv", header=ID_COLUMNS[:1] + DATE_COLUMNS[:1]), {})
    return replace(generic, required_columns=(), bind=partial(bind, options=options))


SURVEY = qualtrics_adapter()
