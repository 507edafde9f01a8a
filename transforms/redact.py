"""PII redaction in free text, vectorised over Arrow columns, before anything is staged or written.

    "call me on +44 7700 900123 or bob@example.com"  ->  "call me on <PHONE> or <EMAIL>"

Emails and phone numbers are replaced by RE2 in Arrow. Payment cards (a card scheme's prefix and a
valid Luhn checksum), IBANs (valid mod-97 checksum) and national ids (US SSN, UK NINO) are found by
RE2 first; only the rows holding a candidate go through Python, to check the checksum, so ticket
numbers and epoch timestamps that merely look like cards are left alone, and so is a bare JSON number
(an order id in a webhook payload): what people type is text. Each replacement is counted
per type, and the counts end up in the run manifest.

Personal identifiers in id fields (email addresses, phone numbers) are not redacted but hashed, by
the `cx_pii_hash` SQL macro adapters call: SHA-256 of a salt and the normalised value. The salt comes
from the CX_PII_SALT environment variable; without it a fixed demo salt is used and the manifest says so.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SALT_ENV = "CX_PII_SALT"
DEMO_SALT = "cx-demo-salt-NOT-FOR-PRODUCTION"

# Columns that may hold free text a person typed, or a raw record that holds it.
REDACTED_COLUMNS = ("text", "attributes", "raw_payload", "source_code", "source_reason", "error_message")


def pii_salt() -> tuple[str, bool]:
    """(salt, is_demo): the salt from CX_PII_SALT, else the marked demo salt."""
    salt = os.environ.get(SALT_ENV, "")
    return (salt, False) if salt else (DEMO_SALT, True)


# Personal values people put in file names: an address (exports named after whoever ran them) or an
# international number. Dates, counters and "@2x" suffixes in names are not touched.
_NAME_PII = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|\+[0-9][0-9 .()-]{7,18}[0-9]")
_EXTENSIONS = re.compile(r"(?:\.(?:csv|tsv|txt|json|jsonl|ndjson|parquet|gz|gzip))+$", re.IGNORECASE)


def lineage_name(path: str, salt: str | None = None) -> str:
    """The name a file is recorded under (source_file, manifest, registry): its path with any email
    address or international phone number replaced by a salted hash, so lineage never stores one.

    'raw/email/export-jane.doe@acme.com.csv' -> 'raw/email/pii-3f9c0a1b2d4e5f60.csv'"""
    if "@" not in path and "+" not in path:
        return path
    salt = salt if salt is not None else pii_salt()[0]

    def hashed(match: re.Match) -> str:
        return "pii-" + hashlib.sha256((salt + match.group(0).lower()).encode()).hexdigest()[:16]

    parts = []
    for part in path.split("/"):
        extension = _EXTENSIONS.search(part)
        stem, suffix = (part[:extension.start()], extension.group(0)) if extension else (part, "")
        parts.append(_NAME_PII.sub(hashed, stem) + suffix)
    return "/".join(parts)


def _luhn(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


CARD_PREFIX = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|6(011|5|4[4-9])|35)")


def is_card(candidate: str) -> bool:
    """13-19 digits with a card scheme's prefix (Visa, Mastercard, Amex, Discover, JCB) and a valid Luhn sum."""
    digits = re.sub(r"[ .-]", "", candidate)
    return 13 <= len(digits) <= 19 and bool(CARD_PREFIX.match(digits)) and _luhn(digits)


def is_iban(candidate: str) -> bool:
    """Country code, check digits and account, with a valid ISO 13616 mod-97 checksum."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def is_national_id(candidate: str) -> bool:
    """A US SSN (not area 000, 666 or 900-999, group 00 or serial 0000) or a UK National Insurance number."""
    digits = re.sub(r"[ -]", "", candidate)
    if digits.isdigit():
        area, group, serial = digits[:3], digits[3:5], digits[5:]
        return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
    return digits[:2].upper() not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ") and digits[1].upper() != "O"


@dataclass(frozen=True)
class PiiKind:
    token: str
    pattern: str                                  # RE2 and Python `re` alike
    check: Callable[[str], bool] | None = None    # a checksum; None: every match is PII
    cut_back: bool = False                        # a match may run into the next word: try its heads too


# Applied in this order: a card or an IBAN is replaced before the phone pattern could take its digits.
KINDS = (
    PiiKind("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    # Upper case as banks print them, or in any case when written in groups: a compact lower-case run
    # cannot be told from a hex id (a hash, a session), which is far more common in exports.
    PiiKind("IBAN", r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"
                    r"|(?i:\b[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\b)", is_iban, cut_back=True),
    # Dots only between groups of four, as people write a card: a float such as 1772366400.123 is not one.
    PiiKind("CARD", r"\b[0-9](?:[ -]?[0-9]){12,18}\b|\b[0-9]{4}\.[0-9]{4}\.[0-9]{4}\.[0-9]{1,7}\b", is_card),
    PiiKind("NATIONAL_ID", r"\b[0-9]{3}[ -][0-9]{2}[ -][0-9]{4}\b"
                           r"|(?i:\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b)", is_national_id),
    PiiKind("PHONE", r"\+[0-9]{1,3}[ .-]?\(?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,4}){2,4}\b"
                     r"|\b00[1-9][0-9]{0,2}[ .-](?:[0-9]{2,4}[ .-]?){1,4}[0-9]{2,4}\b"
                     r"|\(?\b[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}\b"
                     r"|\b0[0-9]{2,4}/[0-9]{3,8}\b"
                     r"|\b0[0-9]{2,4}[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}\b"),
)
PII_TYPES = tuple(kind.token for kind in KINDS)


def _json_number(match: re.Match) -> bool:
    """A match that is a whole JSON number value of a key ("id":576460752303423487) is a system's id,
    not a number someone typed: cards and account numbers people give are text, even after a colon."""
    if not match.group().isdigit():
        return False
    before = match.string[:match.start()].rstrip()
    after = match.string[match.end():].lstrip()[:1]
    return before.endswith(":") and before[:-1].rstrip().endswith('"') and after in (",", "}", "]", "")


def _replace_checked(values: pa.Array, kind: PiiKind) -> tuple[pa.Array, int]:
    """Replace the matches that pass `kind.check`, touching in Python only the rows with a candidate."""
    candidates = pc.fill_null(pc.match_substring_regex(values, kind.pattern), False)
    rows = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
    if not len(rows):
        return values, 0
    compiled = re.compile(kind.pattern)
    replaced = 0

    def sub(match: re.Match) -> str:
        """The longest head of the match (whole, or cut at a space) that passes the check: "IBAN ES91 … 1332
        please" matches up to "… 1332 plea", whose head is the IBAN."""
        nonlocal replaced
        text = match.group()
        ends = [len(text)] + ([i for i in range(len(text) - 1, 0, -1) if text[i] == " "] if kind.cut_back else [])
        for end in ends:
            if kind.check(text[:end]) and not (end == len(text) and _json_number(match)):
                replaced += 1
                return f"<{kind.token}>" + text[end:]
        return text

    new = [compiled.sub(sub, text) for text in values.take(pa.array(rows)).to_pylist()]
    if not replaced:
        return values, 0
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(new, pa.string())), replaced


# Any kind's pattern: one scan finds the rows that may hold PII, and only those go through the kinds
# one by one. Most rows hold none (in a column of JSON attributes, nine in ten).
ANY_PII = "|".join(f"(?:{kind.pattern})" for kind in KINDS)


def redact_array(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, dict[str, int]]:
    """Replace every PII value in a string column by its typed placeholder; count them per type."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    counts = dict.fromkeys(PII_TYPES, 0)
    if len(values) == 0 or values.null_count == len(values):
        return values, counts
    candidates = pc.fill_null(pc.match_substring_regex(values, ANY_PII), False)
    rows = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
    if not len(rows):
        return values, counts
    subset = values.take(pa.array(rows))
    for kind in KINDS:
        if kind.check is None:
            found = pc.sum(pc.count_substring_regex(subset, kind.pattern)).as_py() or 0
            if found:
                subset = pc.replace_substring_regex(subset, kind.pattern, f"<{kind.token}>")
        else:
            subset, found = _replace_checked(subset, kind)
        counts[kind.token] += found
    if not any(counts.values()):
        return values, counts
    return pc.replace_with_mask(values, candidates, subset), counts


def redact_table(table: pa.Table, columns: tuple[str, ...] = REDACTED_COLUMNS) -> tuple[pa.Table, dict[str, int]]:
    """Redact the free-text columns of a table; return it with the number of values replaced per type."""
    totals = dict.fromkeys(PII_TYPES, 0)
    for name in columns:
        if name not in table.column_names or not pa.types.is_string(table.schema.field(name).type):
            continue
        redacted, counts = redact_array(table[name])
        if any(counts.values()):
            table = table.set_column(table.schema.get_field_index(name), name, redacted)
            for token, n in counts.items():
                totals[token] += n
    return table, totals
