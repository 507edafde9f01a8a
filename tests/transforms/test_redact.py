import pyarrow as pa
import pytest

from tests.conftest import NOW
from transforms.framing import SIDELOAD_SCHEMA, Framed, Layout
from transforms.io import frame_csv
from transforms.parse import parse_framed
from transforms.redact import is_card, is_iban, redact_array, redact_table
from transforms.sources import default_adapters
from transforms.sources.base import connect

SAMPLE_TEXTS = [
    "call me on +44 7700 900123 or bob.smith@example.co.uk",
    "card 4111 1111 1111 1111 was charged, 4111 1111 1111 1112 was not",
    "refund to IBAN GB82 WEST 1234 5698 7654 32 please",
    "SSN 123-45-6789, NINO AB 12 34 56 C",
    "(555) 123-4567 or 020 7946 0958",
    "ticket 70000001 at 2026-02-12T09:00:00+01:00, epoch 1770000000000, order #4111",
    None,
]


def test_every_kind_is_replaced_by_its_placeholder_and_counted():
    redacted, counts = redact_array(pa.array(SAMPLE_TEXTS))
    assert redacted.to_pylist() == [
        "call me on <PHONE> or <EMAIL>",
        "card <CARD> was charged, 4111 1111 1111 1112 was not",
        "refund to IBAN <IBAN> please",
        "SSN <NATIONAL_ID>, NINO <NATIONAL_ID>",
        "<PHONE> or <PHONE>",
        "ticket 70000001 at 2026-02-12T09:00:00+01:00, epoch 1770000000000, order #4111",
        None,
    ]
    assert counts == {"EMAIL": 1, "IBAN": 1, "CARD": 1, "NATIONAL_ID": 2, "PHONE": 3}


@pytest.mark.parametrize("number, expected", [
    ("4111 1111 1111 1111", True), ("5500-0000-0000-0004", True), ("378282246310005", True),
    ("4111 1111 1111 1112", False),   # Luhn fails
    ("1770000000000", False),         # epoch milliseconds: no card scheme starts with 1
])
def test_cards_need_a_scheme_prefix_and_luhn(number, expected):
    assert is_card(number) is expected


def test_ids_that_are_json_numbers_are_not_cards():
    payload = '{"id":4111111111111111,"customer":{"id":5500000000000004},"note":"card 4111 1111 1111 1111"}'
    redacted, counts = redact_array(pa.array([payload]))
    assert redacted.to_pylist() == ['{"id":4111111111111111,"customer":{"id":5500000000000004},"note":"card <CARD>"}']
    assert counts["CARD"] == 1


def test_iban_needs_its_checksum():
    assert is_iban("GB82 WEST 1234 5698 7654 32") and is_iban("DE89370400440532013000")
    assert not is_iban("GB83 WEST 1234 5698 7654 32")


def test_redact_table_touches_text_columns_only():
    table = pa.table({"text": ["mail me: a@b.io"], "interaction_id": ["web:a@b.io"], "source_line": [1]})
    redacted, counts = redact_table(table)
    assert redacted.to_pylist() == [{"text": "mail me: <EMAIL>", "interaction_id": "web:a@b.io", "source_line": 1}]
    assert counts["EMAIL"] == 1


def test_parse_redacts_good_and_failed_records_alike():
    block = (
        b"ContactId,CustomerAccount,InitiationTimestamp,CustomerStatement\n"
        b"k1,C1,2026-02-12T09:00:00Z,my card 4111 1111 1111 1111 was charged twice\n"
        b"k2,C2,not a date,write to jo@example.org\n"
    )
    header = ("ContactId", "CustomerAccount", "InitiationTimestamp", "CustomerStatement")
    framed = Framed(frame_csv(block.split(b"\n", 1)[1], 2, header), SIDELOAD_SCHEMA.empty_table())
    parsed = parse_framed(connect(), default_adapters()["call_center"], "call_center", framed, "calls.csv", Layout("csv", header=header), now=NOW)
    assert parsed.good["text"].to_pylist() == ["my card <CARD> was charged twice"]
    assert parsed.failed["raw_payload"].to_pylist() == ["k2,C2,not a date,write to <EMAIL>"]
    assert parsed.redacted == {"EMAIL": 1, "IBAN": 0, "CARD": 1, "NATIONAL_ID": 0, "PHONE": 0}


def test_identifiers_are_hashed_with_the_salt():
    first = connect("salt-a").execute("select cx_pii_hash('jo@mail.cxdemo.net')").fetchone()[0]
    again = connect("salt-a").execute("select cx_pii_hash('jo@mail.cxdemo.net')").fetchone()[0]
    other = connect("salt-b").execute("select cx_pii_hash('jo@mail.cxdemo.net')").fetchone()[0]
    assert first == again != other and len(first) == 32 and "cxdemo" not in first


def test_blocked_identifiers_hash_to_a_marker_not_a_value():
    con = connect("salt-a")
    assert con.execute("select cx_pii_hash('noemail@callcentre.invalid'), cx_pii_hash(' 0000000 '), cx_pii_hash(null)").fetchone() == \
        ("blocked", "blocked", None)


def test_ids_that_are_emails_or_phones_become_salted_hashes(tmp_path):
    from tests.conftest import parse_file, write

    line = ('{"messageId":"jo.smith@example.org","type":"identify","userId":"Jo.Smith@Example.org",'
            '"anonymousId":"+44 7700 900123","timestamp":"2026-03-01T10:00:00Z"}\n')
    con = connect("salt-a")
    [row] = parse_file(con, write(tmp_path, "web", "calls.jsonl", line), "web").good.to_pylist()
    email_hash = con.execute("select cx_pii_hash('jo.smith@example.org')").fetchone()[0]
    assert row["source_customer_ref"] == f"email:{email_hash}"  # stitches with the same address seen elsewhere
    assert row["linked_refs"] == ["phone:" + con.execute("select cx_pii_hash('+447700900123')").fetchone()[0]]
    assert row["interaction_id"] == "web:h" + con.execute("select cx_pii_hash('jo.smith@example.org')").fetchone()[0]
    assert "example.org" not in str(row) and "7700" not in str(row)


def test_a_failed_records_raw_payload_is_capped_at_64_kb(tmp_path):
    from tests.conftest import parse_file, write
    from transforms.io import RAW_PAYLOAD_LIMIT

    broken = '{"messageId":"m1","type":"page","note":"' + "x" * 200_000 + '"\n'  # not closed: malformed
    parsed = parse_file(connect(), write(tmp_path, "web", "big.jsonl", broken), "web")
    [payload] = parsed.failed["raw_payload"].to_pylist()
    assert parsed.failed["error_type"].to_pylist() == ["malformed_json"] and len(payload) == RAW_PAYLOAD_LIMIT == 65_536
