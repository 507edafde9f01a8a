"""The canonical interaction record (schema v1), defined once.

Every adapter maps its touchpoint's native shape onto these columns; the Parquet output, the dbt
sources and the README table follow this module. Add columns freely; renaming one needs a version bump.
"""

import pyarrow as pa

SCHEMA_VERSION = "1.2.0"

TOUCHPOINTS = ("web", "app", "call_center", "email", "chat", "survey", "billing", "product", "social", "app_store", "ivr", "orders",
               "internal_survey")
CHANNEL_TYPES = ("self_service", "assisted", "automated", "community")
OUTCOMES = ("resolved", "unresolved", "escalated", "transferred", "abandoned", "pending", "not_applicable")
JOURNEY_PHASES = (
    "looking_and_deciding",
    "taking_the_leap",
    "i_have_it_now_what",
    "first_success",
    "part_of_core",
    "telling_others",
)
# What an interaction says about its customer's journey (phases.yml): a milestone is something the
# customer did that shows they reached the phase (first order, first login, first success event,
# advocacy); usage is product use, which reaches part_of_core once it is habitual (dbt); context is an
# interaction about the phase that moves nobody (a shipment notice, an invoice, a contact about a reason).
PHASE_SIGNALS = ("milestone", "usage", "context")

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
AMOUNT = pa.decimal128(18, 2)

# Columns an adapter fills from the raw record: (name, type, description).
SOURCE_FIELDS = [
    ("interaction_id", pa.string(), "Stable id: '<touchpoint>:<the source's own id>'; the same on every rerun."),
    ("touchpoint", pa.string(), "The input folder's touchpoint: web, app, call_center, email, chat, survey, billing, product, social, app_store, ivr, orders, internal_survey, or one a user added."),
    ("channel_type", pa.string(), "self_service, assisted, automated or community."),
    ("interaction_type", pa.string(), "page_view, screen_view, identify, <track event>, call, ticket, chat_conversation, survey_response, invoice_paid, payment_failed, ..."),
    ("occurred_at", UTC_TIMESTAMP, "When it happened, normalised to UTC."),
    ("source_customer_ref", pa.string(), "The identifier the source used, typed: 'account:C1', 'anon:...'."),
    ("case_id", pa.string(), "Ticket, conversation or call the interaction belongs to."),
    ("text", pa.string(), "Customer verbatim."),
    ("source_code", pa.string(), "The source's own code: event name, page path, disposition, status."),
    ("source_reason", pa.string(), "The source's own reason or category (agent-selected reason code, ticket tag)."),
    ("agent_id", pa.string(), "Agent who handled an assisted interaction."),
    ("team", pa.string(), "Queue, group or team."),
    ("wait_seconds", pa.int64(), "Seconds the customer waited before being served."),
    ("handle_seconds", pa.int64(), "Seconds spent handling the interaction."),
    ("transfers", pa.int64(), "Times the customer was passed on."),
    ("ces", pa.int32(), "Customer effort score, 1-7 (7 = very easy)."),
    ("csat", pa.int32(), "Satisfaction, 1-5."),
    ("nps", pa.int32(), "Likelihood to recommend, 0-10."),
    ("amount", AMOUNT, "Money involved, in the currency's major unit."),
    ("currency", pa.string(), "ISO 4217 code, lower case as Stripe writes it."),
    ("attributes", pa.string(), "JSON of everything else the source record had."),
    ("source_file", pa.string(), "File the record was read from."),
    ("source_line", pa.int64(), "Line within source_file on which the record starts, 1-based."),
    ("source_item", pa.int64(), "0-based position among the records that start on the same line (a JSON document or batch written on one line holds many)."),
]

# Columns the pipeline adds after parsing.
DERIVED_FIELDS = [
    ("schema_version", pa.string(), "Version of this record layout."),
    ("customer_id", pa.string(), "Stitched customer key (single customer view)."),
    ("reason_code", pa.string(), "Why the customer reached out, from the taxonomy; 'unknown' below the confidence threshold."),
    ("reason_dimension", pa.string(), "people, product or process."),
    ("reason_confidence", pa.float64(), "How sure the tagger is, 0-1."),
    ("reason_method", pa.string(), "Which tier decided: code, rule, examples or embeddings."),
    ("reason_evidence", pa.string(), "The source code, or the customer's words, that decided the reason."),
    ("outcome", pa.string(), "resolved, unresolved, escalated, transferred, abandoned, pending, not_applicable."),
    ("outcome_method", pa.string(), "code, text or default."),
    ("journey_phase", pa.string(), "One of the six journey phases."),
    ("phase_signal", pa.string(), "milestone, usage or context: whether the interaction shows the customer's progress (phases.yml)."),
    ("ingested_at", UTC_TIMESTAMP, "When this run read the record."),
    ("run_id", pa.string(), "The ingest run that wrote the record."),
]

ERROR_FIELDS = [
    ("error_type", pa.string(), "Machine-readable failure kind, e.g. malformed_json, invalid_timestamp."),
    ("error_message", pa.string(), "What was wrong, for a person."),
    ("raw_payload", pa.string(), "The record as it was read."),
]

SOURCE_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in SOURCE_FIELDS])
INTERACTION_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in SOURCE_FIELDS + DERIVED_FIELDS])
FAILED_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in SOURCE_FIELDS + ERROR_FIELDS])

COLUMN_DOCS = {n: d for n, _, d in SOURCE_FIELDS + DERIVED_FIELDS + ERROR_FIELDS}


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast `table` to `schema`, filling columns it lacks with nulls."""
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)
