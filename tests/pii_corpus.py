"""PII as people really write it, and clean text that only looks like it: the corpus redaction is judged on.

Each positive case holds one personal value in a form seen in real exports (separators, case, a label
such as "Card:" before it, punctuation or JSON after it); `CLEAN` holds text with numbers that are not
personal (order ids, epochs, versions, prices, tracking numbers), on which nothing may be redacted.
The values are documented test values (test card numbers, example IBANs, reserved phone ranges).
"""

from __future__ import annotations

import itertools

CARDS = ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111.1111.1111.1111", "4111111111111111", "5500 0000 0000 0004",
         "3400 000000 00009", "6011 0000 0000 0004", "3530 1113 3330 0000", "2223 0000 4840 0011", "4012888888881881"]
IBANS = ["GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606", "fr14 2004 1010 0505 0001 3m02 606",
         "DE89 3704 0044 0532 0130 00", "de89 3704 0044 0532 0130 00", "NL91ABNA0417164300", "ES91 2100 0418 4502 0005 1332"]
NATIONAL_IDS = ["123-45-6789", "123 45 6789", "078-05-1120", "AB123456C", "AB 12 34 56 C", "ab 12 34 56 c", "jg103759a", "JG 10 37 59 A"]
PHONES = ["+44 7700 900123", "+1 (415) 555-0132", "+14155550132", "0044 20 7946 0958", "030/1234567", "020 7946 0958",
          "(415) 555-0132", "415.555.0132", "415-555-0132", "+49 30 1234567", "+33 1 42 68 53 00", "07700 900123", "+49-30-1234567"]
EMAILS = ["jo.smith+tag@Example.co.uk", "a_b@sub.domain.org", "UPPER@EXAMPLE.COM", "maya.patel@fastmail.com", "x@y.io"]

LABELS = {"CARD": ("Card: ", "card no. ", "my card ", "Kreditkarte: "), "IBAN": ("IBAN: ", "iban ", "account "),
          "NATIONAL_ID": ("SSN: ", "NI number ", "my id "), "PHONE": ("Phone: ", "call me on ", "Tel. ", "mobile "),
          "EMAIL": ("Email: ", "write to ", "mail ")}
ENDINGS = ("", ".", ",", " please", "}", "]", ")", ";")
TEMPLATES = ("{label}{value}{end}", "Hi, {label}{value}{end} thanks", '{{"note": "{label}{value}{end}"}}', "({label}{value}{end})",
             "{label}\n{value}{end}")


def positives() -> list[tuple[str, str, str]]:
    """(type, value, text): every value in every form, each text holding that one value."""
    cases = []
    for kind, values in (("CARD", CARDS), ("IBAN", IBANS), ("NATIONAL_ID", NATIONAL_IDS), ("PHONE", PHONES), ("EMAIL", EMAILS)):
        for value, label, end, template in itertools.product(values, LABELS[kind], ENDINGS, TEMPLATES):
            cases.append((kind, value, template.format(label=label, value=value, end=end)))
    return cases


CLEAN = [
    "Order #1234567890123 shipped on 2026-03-02 at 14:05:09",
    '{"id":576460752303423487,"created":1772366400,"amount":4900}',
    "epoch 1772366400000 and 1772366400.123",
    "Version 2.11.1 of the iOS app (build 545) crashes",
    "Total $1,234.56 incl. VAT 19%, invoice INV-2026-000123",
    "Tracking 1Z999AA10123456784 via UPS, parcel 00340434161234567890",
    "Room 1203, floor 12, ZIP 94107, PO box 4711",
    "IP 192.168.0.1 and 10.0.0.254 timed out after 30000 ms",
    "ticket 35436 merged into 35437; see KB-000123",
    "UUID 3e6c8a2f-9d14-4b7e-a5c0-81f2d9e4b6a7",
    "Plan: Pro Annual, 40 seats, 12 months, 480 EUR",
    "Error 0x80070005 at line 1024, code 500",
    "I was charged twice for my March invoice and waited 45 minutes",
    "Reference 2026/03/02-77, batch 5500 of 10000",
    "SKU 400-1234-5678 in aisle 7, 2 for 3.99",
    "session_id 1772366390000, device C8F9E604-F01A-4BD9",
    "The 5 star review said: great app, 10/10",
    "Call back between 9 and 17, Mon-Fri",
    "Lot 20041010 expired 2025-12-31; serial SN-4111-2222",
    "chat 2603.10414779.SuCq4Hn2Vw7Ls started",
    "customer 123456789 opened ticket 987654321 about order 4567891230",
    "Intercom conversation 215471234567891, admin 991267, team 5",
    "invoice in_1QmW4rLkdIwHu7ix for 19.90 EUR, charge ch_3R0e1fLkdIwHu7ix1Xc7oPlE",
    "queue time 00:04:31, wait 271 s, handle 1,380 s",
    "ISBN 978-3-16-148410-0 and EAN 4006381333931",
    "Firmware 20.1.4 build 20260302-1405",
    "between 2026-03-01 and 2026-03-31 we had 1 234 567 events",
    "hash d51dff3225e27a8c057cbe450a4db737 and de89370400440532013000ab seen at 1772366400.123",
]


def score() -> dict[str, dict[str, float]]:
    """Recall and precision per type of `transforms.redact` on this corpus."""
    import pyarrow as pa

    from transforms.redact import PII_TYPES, redact_array

    found = dict.fromkeys(PII_TYPES, 0)
    planted = dict.fromkeys(PII_TYPES, 0)
    wrong = dict.fromkeys(PII_TYPES, 0)
    for kind, value, text in positives():
        redacted, counts = redact_array(pa.array([text]))
        planted[kind] += 1
        if value not in redacted[0].as_py() and counts[kind] == 1:
            found[kind] += 1
        for other, n in counts.items():
            wrong[other] += n - (1 if other == kind and value not in redacted[0].as_py() else 0)
    _, counts = redact_array(pa.array(CLEAN))
    for kind, n in counts.items():
        wrong[kind] += n
    return {kind: {"planted": planted[kind], "recall": found[kind] / planted[kind],
                   "precision": found[kind] / (found[kind] + wrong[kind]) if found[kind] + wrong[kind] else 1.0,
                   "false_positives": wrong[kind]} for kind in PII_TYPES}


# Personal values used where a name or an id belongs: an address or an international number as a
# customer reference or message id (what sources send as userId, ExternalReference, CustomerAccount,
# messageId), or in a file name. Only the international phone form is told apart from other numbers there.
ID_VALUES = EMAILS + [p for p in PHONES if p.startswith("+")]
ID_FORMS = ("account:{v}", "web:{v}", "survey:{v}", "zendesk_user:{v}")
NAME_FORMS = ("raw/email/export-{v}.csv", "raw/web/{v}.jsonl", "raw/call_center/by-agent/{v}/calls.csv.gz",
              "raw/survey/survey_{v}_2026-02.csv", "raw/chat/{v}")
CLEAN_IDS = ["account:C1234", "web:m-1772366400", "email:3f9c0a1b2d4e5f60718293a4b5c6d7e8", "stripe:cus_NffrFeUfNV2Hib",
             "zendesk_user:360001", "web:a+b", "phone:+hashed", "survey:R_1qWx3dd"]
CLEAN_NAMES = ["raw/web/events-0001.jsonl", "raw/web/2026-02-10+01.jsonl", "raw/web/icons/tickets@2x.json", "raw/web/a+b.csv",
               "raw/email/export_2026-03-02T14:05:09+01:00.json", "raw/call_center/C1234.csv", "raw/chat/team+ops/2026.jsonl"]


def score_names_and_ids() -> dict[str, dict[str, float]]:
    """Recall and precision of hashing personal values in id columns (transforms.parse.hash_personal_ids)
    and in file names (transforms.redact.lineage_name)."""
    import pyarrow as pa

    from transforms.parse import hash_personal_ids
    from transforms.redact import lineage_name
    from transforms.sources.base import connect

    con = connect()
    ids = [form.format(v=value) for value in ID_VALUES for form in ID_FORMS]
    table = pa.table({"source_customer_ref": ids + CLEAN_IDS, "interaction_id": ids + CLEAN_IDS})
    hashed = hash_personal_ids(con, table)
    planted = [value for value in ID_VALUES for _ in ID_FORMS]
    figures = {}
    for column in ("source_customer_ref", "interaction_id"):
        out = hashed[column].to_pylist()
        found = sum(value.lower() not in got.lower() for value, got in zip(planted, out))
        wrong = sum(got != clean for got, clean in zip(out[len(ids):], CLEAN_IDS))
        figures[f"ID ({column})"] = {"planted": len(ids), "recall": found / len(ids),
                                     "precision": found / (found + wrong) if found + wrong else 1.0, "false_positives": wrong}
    names = [(value, form.format(v=value)) for value in ID_VALUES for form in NAME_FORMS]
    found = sum(value.lower() not in lineage_name(name).lower() for value, name in names)
    wrong = sum(lineage_name(name) != name for name in CLEAN_NAMES)
    figures["FILE_NAME"] = {"planted": len(names), "recall": found / len(names),
                            "precision": found / (found + wrong) if found + wrong else 1.0, "false_positives": wrong}
    return figures
