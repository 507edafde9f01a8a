"""Identity stitching: every identifier that records tie together resolves to one customer_id.

Records carry a typed source_customer_ref ('account:C1', 'anon:a1', 'stripe:cus_1', ...) and, where
the same record names a second identifier, a linked_ref. Links form a graph; each connected component
is one customer. The component's id is its account number when it has one, else its smallest
reference, so the answer is the same on every run whatever the input order.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc

ACCOUNT_PREFIX = "account:"
RESOLUTION_SCHEMA = pa.schema([("source_customer_ref", pa.string()), ("customer_id", pa.string())])


def _rank(ref: str) -> tuple[int, str]:
    return (0 if ref.startswith(ACCOUNT_PREFIX) else 1, ref)


def resolve_links(links: pa.Table) -> pa.Table:
    """(source_customer_ref, linked_ref) pairs -> (source_customer_ref, customer_id) for every ref seen."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(links["source_customer_ref"].to_pylist(), links["linked_ref"].to_pylist()):
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            if _rank(rb) < _rank(ra):
                ra, rb = rb, ra
            parent[rb] = ra
    refs = sorted(parent)
    roots = [find(r) for r in refs]
    ids = [r[len(ACCOUNT_PREFIX):] if r.startswith(ACCOUNT_PREFIX) else r for r in roots]
    return pa.table([pa.array(refs, pa.string()), pa.array(ids, pa.string())], schema=RESOLUTION_SCHEMA)


def stitch(table: pa.Table, resolution: pa.Table) -> pa.Table:
    """Add customer_id: the resolved id, else the ref itself (account refs lose their prefix)."""
    refs = table["source_customer_ref"]
    index = pc.index_in(refs, resolution["source_customer_ref"])
    resolved = pc.take(resolution["customer_id"], index)
    own = pc.if_else(pc.starts_with(refs, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(refs, len(ACCOUNT_PREFIX)), refs)
    return table.append_column("customer_id", pc.coalesce(resolved, own))


class ResolveIdentities(beam.CombineFn):
    """Link tables from every chunk -> one resolution table (used as a side input)."""

    def create_accumulator(self):
        return []

    def add_input(self, acc, table):
        acc.append(table)
        return acc

    def merge_accumulators(self, accumulators):
        merged = [t for acc in accumulators for t in acc]
        if len(merged) > 1:
            merged = [pa.concat_tables(merged).group_by(["source_customer_ref", "linked_ref"]).aggregate([])]
        return merged

    def extract_output(self, acc):
        if not acc:
            return RESOLUTION_SCHEMA.empty_table()
        return resolve_links(pa.concat_tables(acc))
