"""Identity stitching: every identifier that records tie together resolves to one customer_id.

Records carry a typed source_customer_ref ('account:C1', 'anon:a1', 'stripe:cus_1', ...) and, where
the same record names a second identifier, a linked_ref. Links form a graph; each connected component
is one customer. The component's id is its account number when it has one, else its smallest
reference, so the answer is the same on every run whatever the input order.
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse.csgraph import connected_components

ACCOUNT_PREFIX = "account:"
# An identity link: two identifiers one record ties together, and the file that said so.
LINK_SCHEMA = pa.schema([("source_customer_ref", pa.string()), ("linked_ref", pa.string()), ("source_file", pa.string())])
RESOLUTION_SCHEMA = pa.schema([("source_customer_ref", pa.string()), ("customer_id", pa.string())])


def identity_links(records: pa.Table) -> pa.Table:
    """Records -> their distinct links: (source_customer_ref, each of linked_refs, source_file)."""
    linked = records["linked_refs"].combine_chunks()
    parents = pc.list_parent_indices(linked)
    links = pa.table({"source_customer_ref": records["source_customer_ref"].take(parents),
                      "linked_ref": pc.list_flatten(linked),
                      "source_file": records["source_file"].take(parents)})
    return links.group_by(LINK_SCHEMA.names).aggregate([]).cast(LINK_SCHEMA) if links.num_rows else LINK_SCHEMA.empty_table()


def resolve_links(links: pa.Table) -> pa.Table:
    """(source_customer_ref, linked_ref) pairs -> (source_customer_ref, customer_id) for every ref seen.

    Connected components over the link graph (scipy, no Python loop per identifier); each component
    is named by its account reference if it has one, else by its smallest reference."""
    if links.num_rows == 0:
        return RESOLUTION_SCHEMA.empty_table()
    left = links["source_customer_ref"].combine_chunks()
    right = links["linked_ref"].combine_chunks()
    refs = pc.unique(pa.concat_arrays([left, right]))
    a = pc.index_in(left, refs).to_numpy()
    b = pc.index_in(right, refs).to_numpy()
    n = len(refs)
    graph = sparse.coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    rank = pc.if_else(pc.starts_with(refs, ACCOUNT_PREFIX), 0, 1)
    nodes = pa.table({"ref": refs, "component": pa.array(component), "rank": rank})
    ordered = nodes.take(pc.sort_indices(nodes, [("component", "ascending"), ("rank", "ascending"), ("ref", "ascending")]))
    components = ordered["component"].to_numpy()
    _, first = np.unique(components, return_index=True)
    representative = ordered["ref"].take(pa.array(first))  # one per component, in component order
    root = pc.take(representative, pa.array(component))
    ids = pc.if_else(pc.starts_with(root, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(root, len(ACCOUNT_PREFIX)), root)
    resolved = pa.table([refs, ids], schema=RESOLUTION_SCHEMA)
    return resolved.take(pc.sort_indices(resolved, [("source_customer_ref", "ascending")]))


def stitch(table: pa.Table, resolution: pa.Table) -> pa.Table:
    """Add customer_id: the resolved id, else the ref itself (account refs lose their prefix)."""
    refs = table["source_customer_ref"]
    index = pc.index_in(refs, resolution["source_customer_ref"])
    resolved = pc.take(resolution["customer_id"], index)
    own = pc.if_else(pc.starts_with(refs, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(refs, len(ACCOUNT_PREFIX)), refs)
    return table.append_column("customer_id", pc.coalesce(resolved, own))


class CollectTables(beam.CombineFn):
    """Arrow tables from many bundles -> one table (for side inputs of modest size)."""

    def __init__(self, empty: pa.Schema):
        self.empty = empty

    def create_accumulator(self):
        return []

    def add_input(self, acc, table):
        acc.append(table)
        return acc

    def merge_accumulators(self, accumulators):
        return [t for acc in accumulators for t in acc]

    def extract_output(self, acc):
        return pa.concat_tables(acc) if acc else self.empty.empty_table()
