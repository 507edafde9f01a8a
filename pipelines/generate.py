"""Sample data: raw touchpoint files in each tool's native export shape, with planted truths and dirt.

    cx generate --customers 2000 --seed 7 --out data/raw

Writes data/raw/<touchpoint>/... (Segment JSONL for web and app, a contact-centre CSV, Zendesk ticket
pages, Intercom conversations, a Qualtrics-style survey CSV, Stripe events, ...; every touchpoint in the
README), the team's closed-loop actions in data/raw/_actions.csv, and data/raw/_truth.json: what was
planted (the reason behind most repeat contacts, the hardest phase, the effort -> churn link, the
perception gap, the action that worked) and, per file, how many records, malformed records and re-sent
duplicates it holds. Customers are simulated one at a time from
a per-customer seed, so output is deterministic and memory stays flat whatever --customers is.
"""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from transforms.schema import JOURNEY_PHASES as PHASES
from transforms.sources import google_forms

# Reasons customers contact us about in each phase, with weights. The planted truth: billing confusion
# in the onboarding phase is rarely solved at the first contact, so it drives most repeat contacts.
PHASE_REASONS = {
    "looking_and_deciding": [("product_questions", 3), ("pricing_questions", 2)],
    "taking_the_leap": [("signup_problem", 2), ("payment_declined", 2), ("order_status", 2)],
    "i_have_it_now_what": [("billing_confusion", 4), ("setup_help", 3), ("login_problem", 2)],
    "first_success": [("data_import", 2), ("feature_how_to", 3)],
    "part_of_core": [
        ("bug_report", 3), ("performance_issue", 2), ("plan_change", 2),
        ("cancel_request", 1), ("refund_request", 1), ("account_update", 1),
    ],
    "telling_others": [("referral_praise", 1)],
}
FIRST_CONTACT_RESOLUTION = {"billing_confusion": 0.3, "setup_help": 0.65, "login_problem": 0.7}
DEFAULT_RESOLUTION = 0.8
# The planted link from effort to churn: a subscriber who once needed three or more contacts for one
# issue cancels far more often than one who never did.
HARD_EPISODE_CONTACTS = 3
CHURN_AFTER_HARD_EPISODE = 0.5
CHURN_OTHERWISE = 0.15
CONTACT_PROBABILITY = {
    "looking_and_deciding": 0.12, "taking_the_leap": 0.3, "i_have_it_now_what": 0.7,
    "first_success": 0.35, "part_of_core": 0.3, "telling_others": 0.05,
}
# Mean CES (7 = very easy) of a survey answered after a contact in each phase.
PHASE_CES = {
    "looking_and_deciding": 5.8, "taking_the_leap": 5.2, "i_have_it_now_what": 3.4,
    "first_success": 5.0, "part_of_core": 5.4, "telling_others": 6.3,
}
# The closed loop (written to _actions.csv): one finished action fixed setup help from its done date on
# (first-contact resolution 0.65 -> 0.95); another, on login problems, changed nothing. The action on
# billing confusion is still in progress and overdue, one on bugs is open without an owner, one was dropped.
FIX_DONE_ON = datetime(2026, 4, 13, tzinfo=timezone.utc)
FIXED_RESOLUTION = 0.95
ACTIONS = [
    {"action_id": "CX-101", "root_cause": "setup_help", "journey_phase": "i_have_it_now_what", "touchpoint": "",
     "action": "Guided setup for the Salesforce integration", "owner": "Onboarding squad", "opened_on": "2026-02-02",
     "due_on": "2026-04-10", "status": "done", "done_on": FIX_DONE_ON.date().isoformat()},
    {"action_id": "CX-102", "root_cause": "login_problem", "journey_phase": "", "touchpoint": "",
     "action": "Redesign the password reset email", "owner": "Identity team", "opened_on": "2026-02-16",
     "due_on": "2026-03-15", "status": "done", "done_on": "2026-03-20"},
    {"action_id": "CX-103", "root_cause": "billing_confusion", "journey_phase": "", "touchpoint": "",
     "action": "Explain every line of the first invoice", "owner": "Billing operations", "opened_on": "2026-03-02",
     "due_on": "2026-04-30", "status": "in_progress", "done_on": ""},
    {"action_id": "CX-104", "root_cause": "bug_report", "journey_phase": "", "touchpoint": "",
     "action": "Crash-free reports release", "owner": "", "opened_on": "2026-03-09", "due_on": "2099-12-31",
     "status": "open", "done_on": ""},
    {"action_id": "CX-105", "root_cause": "order_status", "journey_phase": "", "touchpoint": "chat",
     "action": "Order tracking answers in the chat bot", "owner": "Support tooling", "opened_on": "2026-01-19",
     "due_on": "2026-02-28", "status": "dropped", "done_on": ""},
]

# The perception gap: leadership rates this phase easy (CES-like 1-7) while customers find it the hardest.
PERCEPTION_BLIND_SPOT = "i_have_it_now_what"
PERCEIVED_BLIND_SPOT_EASE = 6.2


def score_to_improve(ease: int) -> float:
    """How likely an internal respondent ticks a phase as needing improvement, given how easy they think it is."""
    return max(0.02, (5 - ease) / 5)

# Customer verbatims, written differently from the taxonomy examples.
VERBATIMS = {
    "product_questions": ["Hi, does it work with {tool}?", "Is there a {feature} feature in the basic version?", "can I use it to {task}"],
    "pricing_questions": ["How much does the team plan cost for {n} people?", "do you have a student discount", "Which plan do I need to {task}?"],
    "signup_problem": ["I can't sign up, the form just reloads", "Never got the verification email, tried {n} times", "unable to register using my company address"],
    "payment_declined": ["My card was declined but the bank says it's fine", "payment did not go through at checkout", "The checkout error keeps showing up when I pay"],
    "order_status": ["Where is my order? It's been {n} days", "my package never arrived", "Can I get a tracking number for order {n}?"],
    "setup_help": ["How do I set up the integration with {tool}?", "I'm stuck on the setup wizard, step {n}", "help me get started please, nothing makes sense"],
    "login_problem": ["I can't log in since this morning", "The password reset email link is broken", "I'm locked out after the update"],
    "billing_confusion": ["Why was I charged twice this month?", "I don't understand my invoice, what is the {amount} for?", "There is an unexpected fee of {amount} on my bill", "my bill is higher than what I signed up for"],
    "data_import": ["Importing my contacts from {tool} fails halfway", "How do I upload a spreadsheet with {n} rows?", "We are migrating from {tool} and need help"],
    "feature_how_to": ["How do I create a monthly report?", "how can I share a dashboard with my team", "Where do I find the export settings?"],
    "bug_report": ["The app keeps crashing when I open reports", "Sync stopped working after the update", "I get an error message when I save a {feature}"],
    "performance_issue": ["Everything is so slow today", "reports time out after {n} seconds", "loading the dashboard takes forever"],
    "plan_change": ["I'd like to upgrade my plan to pro", "Can we downgrade the subscription next month?", "Please add more seats, we hired {n} people"],
    "cancel_request": ["I want to cancel my subscription", "Please close my account by the end of the month", "how do I cancel our plan"],
    "refund_request": ["I'd like a refund for last month", "can I get my money back for the unused seats", "Please refund the duplicate payment"],
    "account_update": ["I need to change my address on the invoices", "Please update my email to the new one", "update our billing details please"],
    "referral_praise": ["Love it, already told my colleagues", "I would recommend you to anyone", "loving the product, keep going"],
}
FOLLOW_UPS = ["I'm still having the problem from last time.", "This is the third time I'm asking.", "still not fixed"]
FILLERS = {
    "tool": ["Salesforce", "Excel", "Slack", "Shopify", "QuickBooks", "HubSpot"],
    "feature": ["offline", "dark mode", "calendar", "template", "forecast"],
    "task": ["track invoices", "plan shifts", "send reminders", "manage stock"],
}
CALL_REASON_CODES = {
    "product_questions": "PRESALES-PRODUCT", "pricing_questions": "PRESALES-PRICING", "signup_problem": "SIGNUP",
    "payment_declined": "PAYMENT-DECLINED", "order_status": "ORDER-STATUS", "setup_help": "ONBOARDING",
    "login_problem": "LOGIN", "billing_confusion": "BILLING-QUERY", "data_import": "DATA-IMPORT",
    "feature_how_to": "HOW-TO", "bug_report": "TECH-FAULT", "performance_issue": "PERFORMANCE",
    "plan_change": "PLAN-CHANGE", "cancel_request": "CANCEL", "refund_request": "REFUND",
    "account_update": "ACCOUNT-UPDATE",
}
# Merge traps for identity stitching: every HOUSEHOLD_EVERY-th customer shares a phone with the one
# before; agents open a share of tickets with a placeholder address instead of the customer's.
HOUSEHOLD_EVERY = 50
PLACEHOLDER_SHARE = 0.1
PLACEHOLDER_EMAIL = "noemail@callcentre.invalid"

# Share of verbatims in which the customer gives away personal data (the redaction step must catch all).
PII_RATE = 0.04
PII_SENTENCES = {
    "EMAIL": "You can reach me at {}.",
    "PHONE": "Please call me back on {}.",
    "CARD": "The card I used is {}.",
    "IBAN": "Refund it to my account {} please.",
    "NATIONAL_ID": "My social security number is {} if you need it.",
}

OFFSETS = [timedelta(0), timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30), timedelta(hours=1)]
START = datetime(2026, 1, 5, tzinfo=timezone.utc)

CALL_COLUMNS = [
    "ContactId", "CustomerAccount", "CallerPhone", "InitiationTimestamp", "DisconnectTimestamp", "Queue",
    "AgentId", "AgentTeam", "WaitSeconds", "HandleSeconds", "Transfers", "ReasonCode", "DispositionCode",
    "CustomerStatement",
]
SURVEY_COLUMNS = [
    "StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
    "ResponseId", "ExternalReference", "DistributionChannel", "UserLanguage", "Q_Touchpoint", "Q_CES",
    "Q_CSAT", "Q_NPS", "Q_Verbatim",
]
IVR_COLUMNS = ["CallId", "CallerNumber", "AccountNumber", "StartTimestamp", "EndTimestamp", "MenuPath", "LastNode",
               "Outcome", "QueueSeconds"]
# The menu path a caller picks for each reason (others: general>agent).
MENU_PATHS = {
    "billing_confusion": "billing>invoice", "payment_declined": "billing>payment", "refund_request": "billing>refund",
    "order_status": "orders>where-is-my-order", "login_problem": "tech>login", "bug_report": "tech>fault",
    "cancel_request": "account>cancel",
}
PRODUCT_ERRORS = ["Sync failed: timeout while uploading", "Report export crashed", "Could not save template, error 500"]
COLUMNS = {"csv": CALL_COLUMNS, "survey_csv": SURVEY_COLUMNS, "ivr_csv": IVR_COLUMNS, "forms_csv": list(google_forms.COLUMNS)}
TIMESTAMP_COLUMN = {"call_center": 3, "ivr": 3, "survey": 6, "internal_survey": 0}
SURVEY_QUESTION_ROW = {
    "Q_Touchpoint": "Which channel did you use?", "Q_CES": "The company made it easy for me to handle my issue.",
    "Q_CSAT": "How satisfied are you with the support you received?",
    "Q_NPS": "How likely are you to recommend us to a friend or colleague?", "Q_Verbatim": "Tell us why.",
}


def _qualtrics_time(ts: datetime) -> str:
    """Qualtrics writes the account's local time (here UTC) without a zone."""
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def iso(ts: datetime, offset: timedelta = timedelta(0)) -> str:
    """ISO 8601 with an explicit offset; 'Z' for UTC."""
    local = ts.astimezone(timezone(offset))
    text = local.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


@dataclass
class FileStats:
    records: int = 0
    malformed: int = 0
    duplicates: int = 0


@dataclass
class Sink:
    """A rotating writer for one touchpoint: new file every `per_file` records, some gzipped."""

    root: Path
    touchpoint: str
    stem: str
    kind: str  # jsonl | csv | survey_csv | ivr_csv | forms_csv | zendesk | appstore
    per_file: int
    gzip_every: int = 0  # gzip every n-th file (0: never)
    stats: dict = field(default_factory=dict)
    _index: int = 0
    _count: int = 0
    _handle: object = None
    _raw: object = None
    _writer: object = None
    _name: str = ""
    _page: list = field(default_factory=list)
    _users: dict = field(default_factory=dict)

    def _open(self) -> None:
        self._index += 1
        self._count = 0
        ext = {"jsonl": "jsonl", "csv": "csv", "survey_csv": "csv", "ivr_csv": "csv", "forms_csv": "csv", "zendesk": "json",
               "appstore": "json"}[self.kind]
        gz = self.gzip_every and self._index % self.gzip_every == 0
        self._name = f"{self.touchpoint}/{self.stem}-{self._index:04d}.{ext}" + (".gz" if gz else "")
        path = self.root / self._name
        path.parent.mkdir(parents=True, exist_ok=True)
        if gz:  # mtime=0 keeps the bytes identical for the same seed
            binary = gzip.GzipFile(filename=path.name, mode="wb", fileobj=open(path, "wb"), mtime=0)
            self._handle = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            self._raw = binary.fileobj
        else:
            self._handle = open(path, "w", encoding="utf-8", newline="")
            self._raw = None
        self.stats[self._name] = FileStats()
        if self.kind in COLUMNS:
            self._writer = csv.writer(self._handle, lineterminator="\n")
            columns = COLUMNS[self.kind]
            self._writer.writerow(columns)
            if self.kind == "survey_csv":
                self._writer.writerow([SURVEY_QUESTION_ROW.get(c, c) for c in columns])
                self._writer.writerow([json.dumps({"ImportId": c}) for c in columns])

    def write(self, record, *, malformed: bool = False, duplicate: bool = False) -> None:
        """Write one record: a JSON-able object, a CSV row (list) or a raw line (str)."""
        if self._handle is None or self._count >= self.per_file:
            self.close()
            self._open()
        self._count += 1
        stats = self.stats[self._name]
        stats.records += 1
        stats.malformed += malformed
        stats.duplicates += duplicate
        if self.kind == "zendesk":
            ticket, user = record
            self._page.append(ticket)
            if user is not None:
                self._users[user["id"]] = user
        elif self.kind == "appstore":
            self._page.append(record)
        elif isinstance(record, str):
            self._handle.write(record + "\n")
        elif self.kind in COLUMNS:
            self._writer.writerow(record)
        else:
            self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self._handle is None:
            return
        if self.kind == "zendesk":
            page = {"tickets": self._page, "users": list(self._users.values()), "next_page": None,
                    "count": len(self._page)}
            self._handle.write(json.dumps(page, separators=(",", ":")))
            self._page, self._users = [], {}
        elif self.kind == "appstore":  # App Store Connect's customerReviews page (JSON:API)
            page = {"data": self._page, "links": {"self": f"https://api.appstoreconnect.example/v1/apps/1/customerReviews?page={self._index}"},
                    "meta": {"paging": {"total": len(self._page), "limit": self.per_file}}}
            self._handle.write(json.dumps(page, separators=(",", ":")))
            self._page = []
        self._handle.close()
        if self._raw is not None:
            self._raw.close()
        self._handle = None


class Generator:
    """Simulates customers one at a time and writes what each touchpoint would have exported."""

    def __init__(self, out: Path, customers: int, seed: int, records_per_file: int = 20_000,
                 malformed_rate: float = 0.01, duplicate_rate: float = 0.01):
        if customers < 1:
            raise ValueError("customers must be at least 1")
        self.out, self.customers, self.seed = Path(out), customers, seed
        self.malformed_rate, self.duplicate_rate = malformed_rate, duplicate_rate
        per = records_per_file
        self.sinks = {
            "web": Sink(self.out, "web", "events", "jsonl", per, gzip_every=2),
            "web_late": Sink(self.out, "web", "events-late", "jsonl", per),
            "app": Sink(self.out, "app", "events", "jsonl", per),
            "call_center": Sink(self.out, "call_center", "contacts", "csv", per),
            "email": Sink(self.out, "email", "tickets", "zendesk", max(1, min(per, 1000))),
            "chat": Sink(self.out, "chat", "conversations", "jsonl", per),
            "survey": Sink(self.out, "survey", "responses", "survey_csv", per),
            "billing": Sink(self.out, "billing", "events", "jsonl", per, gzip_every=3),
            "product": Sink(self.out, "product", "export", "jsonl", per, gzip_every=2),
            "social": Sink(self.out, "social", "mentions", "jsonl", per),
            "app_store": Sink(self.out, "app_store", "reviews", "appstore", max(1, min(per, 500))),
            "ivr": Sink(self.out, "ivr", "flows", "ivr_csv", per),
            "orders": Sink(self.out, "orders", "webhooks", "jsonl", per),
            "internal_survey": Sink(self.out, "internal_survey", "responses", "forms_csv", per),
        }
        self.recent = {name: [] for name in ("web", "billing", "call_center", "orders")}
        self.ticket_seq = 0
        self.ivr_seq = 0
        self.previous_phone = ""
        self.shared_phones: list[list[str]] = []
        self.placeholder_tickets = 0
        self.pii: list[dict] = []
        self.call_seq = 0

    # ---- helpers -------------------------------------------------------------------------------
    def _uid(self, rng: random.Random) -> str:
        return "%032x" % rng.getrandbits(128)

    def _verbatim(self, rng: random.Random, reason: str, repeat: int) -> str:
        text = rng.choice(VERBATIMS[reason]).format(
            tool=rng.choice(FILLERS["tool"]), feature=rng.choice(FILLERS["feature"]),
            task=rng.choice(FILLERS["task"]), n=rng.randint(2, 40), amount=f"${rng.randint(5, 90)}.{rng.randint(0, 99):02d}",
        )
        if repeat:
            text = rng.choice(FOLLOW_UPS) + " " + text
        return text

    def _with_pii(self, rng: random.Random, text: str, customer_index: int) -> str:
        """Now and then the customer adds personal data; the value is recorded in the truth."""
        if not text or rng.random() >= PII_RATE:
            return text
        kind = rng.choice(sorted(PII_SENTENCES))
        value = planted_pii(rng, kind, customer_index)
        self.pii.append({"type": kind, "value": value})
        return f"{text} {PII_SENTENCES[kind].format(value)}"

    def _emit(self, rng: random.Random, sink_name: str, record) -> bool:
        """Write a good record; now and then re-send a recent one, or write a malformed one instead.

        Returns whether the record was written intact."""
        sink = self.sinks[sink_name]
        if rng.random() < self.malformed_rate:
            sink.write(self._corrupt(rng, sink_name, record), malformed=True)
            return False
        sink.write(record)
        pool = self.recent.get(sink_name)
        if pool is not None:
            pool.append(record)
            if len(pool) > 50:
                pool.pop(0)
            if rng.random() < self.duplicate_rate:
                sink.write(rng.choice(pool), duplicate=True)
        return True

    def _corrupt(self, rng: random.Random, sink_name: str, record):
        """A malformed variant of a record, of the kinds real exports contain."""
        if isinstance(record, list):  # CSV row
            row = list(record)
            kind = rng.randrange(3)
            if kind == 0:
                return row + ["unexpected"]
            if kind == 1:
                return row[:-2]
            row[TIMESTAMP_COLUMN[sink_name]] = "not a date"
            return row
        if isinstance(record, tuple):  # Zendesk ticket + user
            ticket = dict(record[0])
            ticket["created_at"] = "31/02/2026 25:61"
            return ticket, record[1]
        if sink_name == "app_store":  # one review inside a page: a bad date, not a broken page
            return dict(record, attributes=dict(record["attributes"], createdDate="31/02/2026"))
        line = json.dumps(record, separators=(",", ":"))
        kind = rng.randrange(3)
        if kind == 0:
            return line[: rng.randint(5, max(6, len(line) - 5))]
        bad = dict(record)
        if kind == 1:  # no id; a Segment call needs none, so it loses its user instead
            for key in ("messageId", "id", "uuid", "$insert_id", "webhook_id", "userId", "anonymousId"):
                bad.pop(key, None)
            return bad
        for key in ("timestamp", "created", "created_at", "event_time", "date", "triggered_at"):
            if key in bad:
                bad[key] = "yesterday afternoon"
        return bad

    # ---- touchpoints ---------------------------------------------------------------------------
    def _segment(self, rng, sink, kind, ts, anon, user, name, properties=None):
        event = {
            "messageId": self._uid(rng), "type": kind, "anonymousId": anon, "timestamp": iso(ts, rng.choice(OFFSETS)),
            "context": {"library": {"name": "analytics.js" if sink == "web" else "analytics-ios", "version": "5.2.0"},
                        "locale": rng.choice(["en-US", "en-GB", "de-DE"])},
        }
        if user:
            event["userId"] = user
        if kind == "track":
            event["event"] = name
        elif name:
            event["name"] = name
        if properties:
            event["properties"] = properties
        if sink == "app":
            event["context"]["app"] = {"name": "CX Demo", "version": "3.1.0"}
            if rng.random() < 0.3:
                event["timestamp"] = int(ts.timestamp() * 1000)  # some mobile SDKs send epoch milliseconds
        if rng.random() < 0.05:
            event.pop("context")  # optional fields go missing
        target = "web_late" if sink == "web" and rng.random() < 0.02 else sink
        self._emit(rng, target, event)

    def _stripe(self, rng, ts, account, kind, obj):
        event = {"id": "evt_" + self._uid(rng)[:24], "object": "event", "api_version": "2024-06-20",
                 "type": kind, "created": int(ts.timestamp()), "livemode": False,
                 "data": {"object": obj}}
        self._emit(rng, "billing", event)

    def _contact(self, rng, ts, channel, account, phone, reason, repeat, resolved, phase, customer_index):
        """One assisted contact on a channel; returns its handle time in seconds."""
        subject = self._verbatim(rng, reason, repeat)
        text = self._with_pii(rng, subject, customer_index)
        hard = phase == "i_have_it_now_what"
        wait = int(rng.expovariate(1 / (240 if hard else 90)))
        handle = int(rng.gauss(600 if hard else 360, 120)) if channel != "email" else 0
        handle = max(handle, 30) if handle else 0
        transfers = (rng.random() < (0.35 if hard else 0.1)) + (rng.random() < (0.1 if hard else 0.02))
        if channel == "call":
            self.call_seq += 1
            if not resolved:
                disposition = rng.choice(["FOLLOW_UP_REQUIRED", "ESCALATED_TIER2", "CALLBACK_SCHEDULED"])
            elif transfers:
                disposition = "TRANSFERRED" if rng.random() < 0.2 else "RESOLVED"
            else:
                disposition = "RESOLVED"
            if rng.random() < 0.03:
                disposition, handle, text = "ABANDONED_IN_QUEUE", 0, ""
            offset = rng.choice(OFFSETS)
            row = [
                f"{self.seed:x}-{self.call_seq:09d}", account, phone, iso(ts, offset),
                iso(ts + timedelta(seconds=wait + handle), offset), rng.choice(["billing", "tech", "general"]),
                f"agent-{rng.randint(1, 60):03d}", rng.choice(["Tier 1", "Tier 2", "Onboarding"]), wait, handle,
                transfers, CALL_REASON_CODES.get(reason, "") if rng.random() < 0.6 else "", disposition, text,
            ]
            if rng.random() < 0.05:
                row[6] = ""  # agent missing
            if self.side.random() < 0.85:  # most calls come through the phone menu first
                if self.side.random() < 0.08:  # an earlier try, given up while waiting for an agent
                    self._ivr(ts - timedelta(minutes=40), account, phone, reason, "AbandonedInQueue", self.side.randint(180, 900))
                self._ivr(ts - timedelta(minutes=2), account, phone, reason, "Transferred", wait)
            self._emit(rng, "call_center", row)
        elif channel == "email":
            self.ticket_seq += 1
            ticket_id = self.seed * 10_000_000 + self.ticket_seq
            user_id = 360_000_000_000 + customer_index
            status = "solved" if resolved else rng.choice(["open", "pending", "hold"])
            ticket = {
                "id": ticket_id, "url": f"https://example.zendesk.com/api/v2/tickets/{ticket_id}.json",
                "created_at": iso(ts), "updated_at": iso(ts + timedelta(hours=rng.randint(1, 48))),
                "type": "question", "subject": subject[:40], "description": text, "priority": rng.choice(["low", "normal", "high"]),
                "status": "new", "requester_id": user_id, "assignee_id": 370_000 + rng.randint(1, 40),
                "group_id": rng.choice([1001, 1002]), "tags": [reason.split("_")[0]],
                "via": {"channel": "email"}, "satisfaction_rating": {"score": "unoffered"},
            }
            user = {"id": user_id, "email": f"customer{customer_index}@mail.cxdemo.net", "external_id": account}
            if self.side.random() < PLACEHOLDER_SHARE:  # merge trap: an agent opened it with a placeholder address
                self.placeholder_tickets += 1
                user = {"id": 380_000_000_000 + self.ticket_seq, "email": PLACEHOLDER_EMAIL}
                ticket["requester_id"] = user["id"]
            intact = self._emit(rng, "email", (ticket, user))
            # Zendesk's incremental export sends the ticket again each time it changes; the later
            # version supersedes the first, which then counts as a duplicate.
            final = dict(ticket, status=status, updated_at=iso(ts + timedelta(hours=rng.randint(49, 96))))
            if resolved:
                final["satisfaction_rating"] = {"score": "good" if rng.random() < 0.8 else "bad"}
            self.sinks["email"].write((final, user), duplicate=intact)
        else:  # chat
            # As GET /conversations/{id} returns it: the customer's first message is the source (HTML), the
            # parts follow; routing assigns once, each transfer assigns again (statistics count both).
            created = int(ts.timestamp())
            parts = [{"part_type": "default_assignment", "body": None, "author": {"type": "admin", "id": "routing"}, "created_at": created + 1}]
            if rng.random() < 0.4:
                parts.append({"part_type": "comment", "body": "<p>Let me check that for you.</p>", "author": {"type": "bot", "id": "bot"}, "created_at": created + 5})
            for t in range(transfers):
                parts.append({"part_type": "assignment", "body": None, "author": {"type": "admin", "id": f"admin-{t}"}, "created_at": created + 60 * (t + 1)})
            parts.append({"part_type": "comment", "body": "<p>Thanks for waiting, here is what I found.</p>", "author": {"type": "admin", "id": f"admin-{rng.randint(1, 30)}"}, "created_at": created + wait})
            if resolved:
                parts.append({"part_type": "close", "body": None, "author": {"type": "admin", "id": "admin-1"}, "created_at": created + wait + handle})
            conversation = {
                "type": "conversation", "id": str(10**12 + self.seed * 10**7 + rng.getrandbits(30)),
                "created_at": created, "updated_at": created + wait + handle,
                "state": "closed" if resolved else rng.choice(["open", "snoozed"]),
                "source": {"type": "conversation", "delivered_as": "customer_initiated", "author": {"type": "user", "id": account},
                           "body": f"<p>{html.escape(text)}</p>"},
                "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": self._uid(rng)[:24], "external_id": account}]},
                "statistics": {"type": "conversation_statistics", "time_to_admin_reply": wait, "first_admin_reply_at": created + wait,
                               "count_assignments": transfers + 1, "last_close_at": created + wait + handle if resolved else None},
                "conversation_parts": {"type": "conversation_part.list", "conversation_parts": parts, "total_count": len(parts)},
                "conversation_rating": {"rating": rng.randint(3, 5) if resolved else rng.randint(1, 3)} if rng.random() < 0.4 else None,
            }
            self._emit(rng, "chat", conversation)

    # ---- touchpoints drawn from the customer's side stream (self.side), so the others stay as they were

    def _ivr(self, ts, account, phone, reason, outcome, queue_seconds, account_entered: float = 0.7):
        side = self.side
        self.ivr_seq += 1
        offset = side.choice(OFFSETS)
        node = {"Transferred": "queue-agent", "AbandonedInQueue": "queue-agent", "SelfServed": "self-service"}.get(outcome, "menu")
        row = [f"{self.seed:x}-ivr-{self.ivr_seq:09d}", phone, account if side.random() < account_entered else "", iso(ts, offset),
               iso(ts + timedelta(seconds=queue_seconds + 60), offset), MENU_PATHS.get(reason, "general>agent"), node, outcome,
               queue_seconds]
        self._emit(side, "ivr", row)

    def _order(self, ts, account):
        """A first order through the shop: placed, then shipped; some shipments are delayed."""
        side = self.side
        order_id = side.getrandbits(59)
        shop_customer = {"id": self.shop_customer}
        payload = {"id": order_id, "order_number": 1000 + side.getrandbits(20), "customer": shop_customer,
                   "total_price": side.choice(["29.00", "49.00", "99.00"]), "currency": "USD", "financial_status": "paid",
                   "fulfillment_status": None, "note_attributes": [{"name": "account_id", "value": account}]}
        self._emit(side, "orders", {"webhook_id": self._uid(side)[:32], "topic": "orders/create",
                                    "triggered_at": iso(ts, side.choice(OFFSETS)), "payload": payload})
        delayed = side.random() < 0.15
        self._emit(side, "orders", {"webhook_id": self._uid(side)[:32], "topic": "fulfillments/update",
                                    "triggered_at": iso(ts + timedelta(days=2)),
                                    "payload": {"id": side.getrandbits(40), "order_id": order_id, "status": "success",
                                                "shipment_status": "delayed" if delayed else "in_transit"}})
        if not delayed:
            self._emit(side, "orders", {"webhook_id": self._uid(side)[:32], "topic": "orders/fulfilled",
                                        "triggered_at": iso(ts + timedelta(days=3)),
                                        "payload": dict(payload, fulfillment_status="fulfilled")})

    def _product(self, ts, account):
        """Product telemetry in Amplitude's export shape: features used, now and then an error."""
        side = self.side
        session = int(ts.timestamp() * 1000)
        for k in range(side.randint(1, 3)):
            error = side.random() < 0.08
            event = {"uuid": self._uid(side), "$insert_id": self._uid(side)[:20], "event_type": "Error Shown" if error else "Feature Used",
                     "user_id": account, "device_id": self.device, "session_id": session, "amplitude_id": self.amplitude_id,
                     "event_time": (ts + timedelta(minutes=5 * k)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                     "event_properties": {"feature": side.choice(["reports", "dashboard", "import", "templates"])},
                     "user_properties": {"plan": side.choice(["basic", "pro", "team"])}}
            if error:
                event["event_properties"]["error_message"] = side.choice(PRODUCT_ERRORS)
            self._emit(side, "product", event)

    def _mention(self, ts, account, text, sentiment):
        side = self.side
        mention = {"id": str(side.getrandbits(62)), "date": ts.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                   "pageType": side.choice(["twitter", "reddit", "facebook"]), "author": self.handle, "fullname": self.handle.title(),
                   "title": "", "fullText": text, "sentiment": sentiment, "url": f"https://social.example/p/{side.getrandbits(40)}"}
        if side.random() < 0.4:  # the listening tool matched the author to a customer
            mention["matchedAccount"] = account
        self._emit(side, "social", mention)

    def _review(self, ts, rating, text):
        side = self.side
        title, _, body = text.partition(". ")
        review = {"type": "customerReviews", "id": f"{side.getrandbits(64):016x}",
                  "attributes": {"rating": rating, "title": title[:60], "body": body or text, "reviewerNickname": self.handle,
                                 "createdDate": iso(ts, side.choice(OFFSETS)).replace("Z", "+00:00"), "territory": side.choice(["USA", "GBR", "DEU"])}}
        self._emit(side, "app_store", review)

    def _survey(self, rng, ts, account, account_index, channel, reason, phase, contacts):
        ces = round(rng.gauss(PHASE_CES[phase] - 0.6 * (contacts - 1), 0.9))
        ces = min(7, max(1, ces))
        csat = min(5, max(1, round(ces * 5 / 7 + rng.gauss(0, 0.5))))
        nps = min(10, max(0, round(ces * 10 / 7 + rng.gauss(0, 1.2))))
        done = ts + timedelta(minutes=rng.randint(2, 20))
        verbatim = self._with_pii(rng, self._verbatim(rng, reason, contacts > 1), account_index) if rng.random() < 0.8 else ""
        row = [_qualtrics_time(ts), _qualtrics_time(done), "IP Address", 100, int((done - ts).total_seconds()), "True",
               _qualtrics_time(done),
               "R_" + self._uid(rng)[:15], account, "email", "EN", channel, ces, csat, nps, verbatim]
        self._emit(rng, "survey", row)

    # ---- the customer --------------------------------------------------------------------------
    def customer(self, index: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + index)
        self.side = random.Random(self.seed * 2_000_029 + index)
        self.device, self.amplitude_id = self._uid(self.side)[:16], self.side.getrandbits(40)
        self.shop_customer, self.handle = self.side.getrandbits(56), f"{self.side.choice(['jo', 'sam', 'alex', 'kim'])}_{index}"
        account = f"C{index:07d}"
        anon = self._uid(rng)
        phone = "+1555" + f"{rng.randint(0, 9999999):07d}"
        if index % HOUSEHOLD_EVERY == 1:  # merge trap: this customer shares the previous one's household phone
            phone = self.previous_phone
            self.shared_phones.append([f"C{index - 1:07d}", account])
            for holder in (f"C{index - 1:07d}", account):
                self._ivr(START + timedelta(days=self.side.uniform(0, 150)), holder, phone, "billing_confusion", "Transferred", 30, 1.0)
        self.previous_phone = phone
        stripe_customer = "cus_" + self._uid(rng)[:14]
        ts = START + timedelta(days=rng.uniform(0, 150), seconds=rng.randint(0, 86399))
        phase, identified, subscribed = 0, False, False
        self.hard_episodes = 0
        steps = 0
        while steps < 14:
            steps += 1
            name = PHASES[phase]
            user = account if identified else None
            self._web_activity(rng, name, ts, anon, user, account, stripe_customer, identified, subscribed)
            if phase >= 1 and not identified:
                self._order(ts + timedelta(minutes=3), account)
                identified, subscribed = True, True
                self._segment(rng, "web", "identify", ts + timedelta(minutes=1), anon, account, None)
                self._stripe(rng, ts + timedelta(minutes=2), account, "customer.created",
                             {"id": stripe_customer, "object": "customer", "metadata": {"account_id": account}})
            if name in ("first_success", "part_of_core"):
                self._product(ts + timedelta(hours=1), account)
            if name == "i_have_it_now_what" and self.side.random() < 0.03:
                self._ivr(ts + timedelta(hours=2), account, phone, "billing_confusion", "SelfServed", 0)
            if name == "telling_others":
                if self.side.random() < 0.3:
                    self._mention(ts + timedelta(hours=4), account, self._verbatim(self.side, "referral_praise", 0), "positive")
                if self.side.random() < 0.2:
                    self._review(ts + timedelta(days=1), self.side.randint(4, 5), self._verbatim(self.side, "referral_praise", 0))
            if rng.random() < CONTACT_PROBABILITY[name]:
                ts = self._episode(rng, ts + timedelta(hours=rng.randint(1, 30)), account, phone, name, index, stripe_customer)
            ts += timedelta(days=rng.uniform(1, 12), seconds=rng.randint(0, 3600))
            move = rng.random()
            if move < 0.22:
                break  # drop off
            if move < 0.30 and phase > 0:
                phase -= 1  # step back
            elif move < 0.34 and phase > 1:
                phase = 0  # start over
            elif move < 0.45:
                pass  # sideways: another round in the same phase
            elif phase < len(PHASES) - 1:
                phase += 1
            else:
                break
        churn = CHURN_AFTER_HARD_EPISODE if self.hard_episodes else CHURN_OTHERWISE
        if subscribed and rng.random() < churn:
            self._stripe(rng, ts, account, "customer.subscription.deleted",
                         {"id": "sub_" + self._uid(rng)[:14], "object": "subscription", "customer": stripe_customer,
                          "status": "canceled", "metadata": {"account_id": account}})

    def _web_activity(self, rng, phase, ts, anon, user, account, stripe_customer, identified, subscribed):
        pages = {
            "looking_and_deciding": ["/pricing", "/features", "/compare", "/blog/why-us"],
            "taking_the_leap": ["/signup", "/checkout"],
            "i_have_it_now_what": ["/help/getting-started", "/help/getting-started/connect"],
            "first_success": ["/app/reports/new", "/app/import"],
            "part_of_core": ["/app/dashboard", "/app/reports"],
            "telling_others": ["/app/referrals"],
        }[phase]
        for k in range(rng.randint(1, 3)):
            self._segment(rng, "web", "page", ts + timedelta(seconds=30 * k), anon, user, None,
                          {"path": rng.choice(pages), "referrer": rng.choice(["", "https://www.google.com/"])})
        event = {
            "taking_the_leap": "Signed Up", "i_have_it_now_what": "Onboarding Step Completed",
            "first_success": "First Report Created", "part_of_core": "Report Created", "telling_others": "Referral Sent",
        }.get(phase)
        if event:
            self._segment(rng, "web", "track", ts + timedelta(minutes=3), anon, account if phase != "taking_the_leap" or identified else None,
                          event, {"plan": rng.choice(["basic", "pro", "team"])})
        if phase in ("first_success", "part_of_core") and rng.random() < 0.5:
            self._segment(rng, "app", "screen", ts + timedelta(hours=2), self._uid(rng), account, rng.choice(["Dashboard", "Reports", "Settings"]))
        if subscribed and phase in ("part_of_core", "first_success"):
            amount = rng.choice([2900, 4900, 9900])
            failed = rng.random() < 0.06
            self._stripe(rng, ts + timedelta(hours=5), account, "invoice.payment_failed" if failed else "invoice.paid",
                         {"id": "in_" + self._uid(rng)[:14], "object": "invoice", "customer": stripe_customer,
                          "amount_due": amount, "amount_paid": 0 if failed else amount, "currency": "usd",
                          "status": "open" if failed else "paid"})

    def _episode(self, rng, ts, account, phone, phase, index, stripe_customer):
        """A customer's contacts about one reason until it is solved or they give up."""
        reasons, weights = zip(*PHASE_REASONS[phase])
        reason = rng.choices(reasons, weights)[0]
        fcr = FIRST_CONTACT_RESOLUTION.get(reason, DEFAULT_RESOLUTION)
        if reason == ACTIONS[0]["root_cause"] and ts >= FIX_DONE_ON:  # the action that worked
            fcr = FIXED_RESOLUTION
        channel = rng.choices(["call", "email", "chat"], [45, 30, 25])[0]
        contacts = 0
        while True:
            contacts += 1
            resolved = rng.random() < (fcr if contacts == 1 else 0.6)
            if contacts >= 4:
                resolved = True
            self._contact(rng, ts, channel, account, phone, reason, contacts - 1, resolved, phase, index)
            if reason == "refund_request" and resolved:
                self._stripe(rng, ts + timedelta(hours=2), account, "charge.refunded",
                             {"id": "ch_" + self._uid(rng)[:14], "object": "charge", "customer": stripe_customer,
                              "amount": 2900, "amount_refunded": 2900, "currency": "usd", "status": "succeeded"})
            if resolved:
                break
            ts += timedelta(days=rng.uniform(0.2, 5))
            if rng.random() < 0.4:
                channel = rng.choice(["call", "email", "chat"])  # channel switch
        self.hard_episodes += contacts >= HARD_EPISODE_CONTACTS
        if rng.random() < 0.5:
            self._survey(rng, ts + timedelta(hours=rng.randint(1, 20)), account, index, channel, reason, phase, contacts)
        if contacts >= 3 and self.side.random() < 0.5:  # had to ask three times: says so in public
            self._mention(ts + timedelta(hours=3), account, f"{self._verbatim(self.side, reason, 1)} @acme", "negative")
        if reason in ("bug_report", "performance_issue") and self.side.random() < 0.3:
            self._review(ts + timedelta(days=1), self.side.randint(1, 2), self._verbatim(self.side, reason, 0))
        return ts

    def internal_survey(self) -> None:
        """Leadership and staff answer the perception survey (google_forms.COLUMNS) about each phase.

        Planted: leadership believes getting started (i_have_it_now_what) is easy and rarely names it
        as needing improvement, while staff, who take those contacts, see it nearly as customers do.
        Elsewhere both groups are a little kinder than customers."""
        rng = random.Random(self.seed * 3_000_017)
        groups = [("leadership", max(6, self.customers // 500)), ("staff", max(30, self.customers // 40))]
        for group, respondents in groups:
            for _ in range(respondents):
                role = "Leadership team" if group == "leadership" else rng.choice(["Customer-facing staff", "Other staff"])
                ease, does_well, ticked = [], [], []
                for phase, label in zip(PHASES, google_forms.PHASE_LABELS):
                    believed = PHASE_CES[phase] + 0.4
                    if phase == PERCEPTION_BLIND_SPOT:
                        believed = PERCEIVED_BLIND_SPOT_EASE if group == "leadership" else PHASE_CES[phase] + 0.3
                    score = min(7, max(1, round(rng.gauss(believed, 0.7))))
                    ease.append(score if rng.random() < 0.95 else "")  # grid rows may be left blank
                    does_well.append(min(5, max(1, round(score * 5 / 7 + rng.gauss(0.2, 0.5)))))
                    if rng.random() < score_to_improve(score):
                        ticked.append(label)
                when = START + timedelta(days=rng.uniform(0, 150), seconds=rng.randint(0, 86399))
                row = [when.strftime("%-m/%-d/%Y %H:%M:%S"), role, rng.choice(["Support", "Sales", "Product", "Finance", "Executive"]),
                       *ease, *does_well, ", ".join(ticked)]
                self._emit(rng, "internal_survey", row)

    def run(self) -> dict:
        for index in range(self.customers):
            self.customer(index)
        self.internal_survey()
        with open(self.out / "_actions.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(ACTIONS[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(ACTIONS)
        for sink in self.sinks.values():
            sink.close()
        files = {}
        for sink in self.sinks.values():
            for name, stats in sink.stats.items():
                files[name] = {"records": stats.records, "malformed": stats.malformed, "duplicates": stats.duplicates}
        truth = {
            "seed": self.seed,
            "customers": self.customers,
            "planted": {
                "top_repeat_reason": "billing_confusion",
                "top_repeat_reason_phase": "i_have_it_now_what",
                "highest_effort_phase": "i_have_it_now_what",
                "lowest_ces_phase": "i_have_it_now_what",
                "actions": {"worked": ACTIONS[0]["action_id"], "no_change": ACTIONS[1]["action_id"],
                            "overdue": ACTIONS[2]["action_id"], "open": [ACTIONS[2]["action_id"], ACTIONS[3]["action_id"]]},
                "perception_gap": {"question": "ease", "area": PERCEPTION_BLIND_SPOT, "group": "leadership"},
                "churn_driver": {"hard_episode_contacts": HARD_EPISODE_CONTACTS, "churn_after_hard_episode": CHURN_AFTER_HARD_EPISODE,
                                 "churn_otherwise": CHURN_OTHERWISE},
            },
            "files": files,
            "pii": self.pii,
            "identity_traps": {"shared_phone_accounts": self.shared_phones, "placeholder_email": PLACEHOLDER_EMAIL,
                               "placeholder_tickets": self.placeholder_tickets},
        }
        with open(self.out / "_truth.json", "w") as handle:  # streamed: the PII list grows with customers
            json.dump(truth, handle, indent=2)
        return truth


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def planted_pii(rng: random.Random, kind: str, customer_index: int) -> str:
    """A realistic personal value of `kind`: cards pass Luhn, IBANs pass mod 97."""
    if kind == "EMAIL":
        return f"{rng.choice(['jo', 'sam', 'alex', 'kim'])}.{customer_index}@{rng.choice(['mail.example.com', 'example.org'])}"
    if kind == "PHONE":
        if rng.random() < 0.5:
            return f"+44 7700 9{rng.randint(0, 99999):05d}"
        return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
    if kind == "CARD":
        body = rng.choice(["4", "51", "37"]) + "".join(str(rng.randint(0, 9)) for _ in range(13))
        number = body + _luhn_digit(body)
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    if kind == "IBAN":
        bban = "WEST" + "".join(str(rng.randint(0, 9)) for _ in range(14))
        check = 98 - int("".join(str(int(ch, 36)) for ch in bban + "GB00")) % 97
        iban = f"GB{check:02d}{bban}"
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def generate(out: str | os.PathLike, customers: int, seed: int = 7, records_per_file: int = 20_000) -> dict:
    """Write a sample dataset under `out` and return the truth it planted."""
    return Generator(Path(out), customers, seed, records_per_file).run()
