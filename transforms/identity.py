"""Identity stitching: every identifier that records tie together resolves to one customer_id.

Records carry a typed source_customer_ref ('account:C1', 'anon:a1', 'email:<hash>', ...) and the
identifiers the same record names alongside it (linked_refs). Links form a graph; each connected
component is one customer, named by its account number when it has one, else by its smallest
reference, so the answer is the same on every run whatever the input order.

Guards against over-merging (data/config/identity.yml): blocked values and patterns identify nobody
(their links are dropped; a record whose own identifier is blocked is its own 'unidentified:'
customer); an identifier other than an account tied to more identifiers of one type than
`max_per_customer` allows is a hub and loses its links; a component still over a limit is cut at its
busiest identifier that is not an account (among equals, one of a type over its limit, then the
smaller reference: the answer never depends on the order of the input).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from scipy import sparse
from scipy.sparse.csgraph import connected_components

ACCOUNT_PREFIX = "account:"
UNIDENTIFIED_PREFIX = "unidentified:"
DEFAULT_IDENTITY = Path(__file__).resolve().parents[1] / "data" / "config" / "identity.yml"
CUT_PASSES = 5
LARGEST = 10  # customers listed in the report, by identifiers (ties: the smaller customer id first)
BUSIEST = 20  # hubs listed in the report
# An identifier link: two identifiers one record ties together, and the file that said so.
LINK_SCHEMA = pa.schema([("source_customer_ref", pa.string()), ("linked_ref", pa.string()), ("source_file", pa.string())])
RESOLUTION_SCHEMA = pa.schema([("source_customer_ref", pa.string()), ("customer_id", pa.string())])


class IdentityConfigError(ValueError):
    """identity.yml cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class IdentityConfig:
    blocked_values: tuple[str, ...] = ()
    blocked_patterns: tuple[str, ...] = ()
    max_per_customer: dict = field(default_factory=dict)

    @property
    def blocked_regex(self) -> str:
        """One RE2 pattern matching a blocked (lower-cased, trimmed) value."""
        values = [re.escape(v.strip().lower()) for v in self.blocked_values]
        parts = ([f"^({'|'.join(values)})$"] if values else []) + [f"({p})" for p in self.blocked_patterns]
        return "|".join(parts) or "$^"


def load_identity(path: str | Path | None = None) -> IdentityConfig:
    path = Path(path) if path else DEFAULT_IDENTITY
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise IdentityConfigError(f"{path}: cannot read the identity file ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise IdentityConfigError(f"{path}:{f' line {mark.line + 1}:' if mark else ''} not valid YAML") from None
    if not isinstance(data, dict):
        raise IdentityConfigError(f"{path}: expected a mapping with blocked_values, blocked_patterns, max_per_customer")
    values = data.get("blocked_values") or []
    patterns = data.get("blocked_patterns") or []
    limits = data.get("max_per_customer") or {}
    if not isinstance(values, list) or not all(isinstance(v, (str, int)) for v in values):
        raise IdentityConfigError(f"{path}: blocked_values must be a list of strings")
    if not isinstance(patterns, list):
        raise IdentityConfigError(f"{path}: blocked_patterns must be a list of patterns")
    for i, pattern in enumerate(patterns):
        try:
            pc.match_substring_regex(pa.array([""]), str(pattern))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise IdentityConfigError(f"{path}: blocked_patterns[{i}] {pattern!r} is not an RE2 pattern ({exc})") from None
    if not isinstance(limits, dict) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in limits.values()):
        raise IdentityConfigError(f"{path}: max_per_customer maps identifier types to whole numbers of 1 or more")
    return IdentityConfig(tuple(str(v) for v in values), tuple(str(p) for p in patterns), dict(limits))


def ref_types(refs: pa.Array) -> pa.Array:
    """'email:3f1c…' -> 'email'."""
    return pc.struct_field(pc.extract_regex(refs, r"^(?P<type>[^:]*)"), [0])


def is_blocked(refs: pa.Array | pa.ChunkedArray, config: IdentityConfig) -> pa.Array:
    """True for refs whose value (after 'type:') the configuration blocks."""
    values = pc.utf8_lower(pc.utf8_trim_whitespace(pc.replace_substring_regex(refs, r"^[^:]*:", "")))
    return pc.fill_null(pc.match_substring_regex(values, config.blocked_regex), False)


@dataclass
class Resolved:
    resolution: pa.Table  # RESOLUTION_SCHEMA, sorted by ref
    report: dict          # what the guards did and the largest customers


def identity_links(records: pa.Table) -> pa.Table:
    """Records -> their distinct links: (source_customer_ref, each of linked_refs, source_file)."""
    linked = records["linked_refs"].combine_chunks()
    parents = pc.list_parent_indices(linked)
    links = pa.table({"source_customer_ref": records["source_customer_ref"].take(parents),
                      "linked_ref": pc.list_flatten(linked),
                      "source_file": records["source_file"].take(parents)})
    return links.group_by(LINK_SCHEMA.names).aggregate([]).cast(LINK_SCHEMA) if links.num_rows else LINK_SCHEMA.empty_table()


def resolve_links(links: pa.Table, config: IdentityConfig | None = None) -> pa.Table:
    """(source_customer_ref, linked_ref) pairs -> (source_customer_ref, customer_id) for every ref kept."""
    return resolve_identities(links, config).resolution


def resolve_identities(links: pa.Table, config: IdentityConfig | None = None) -> Resolved:
    """Connected components over the link graph with the configured guards (scipy, no loop per identifier).

    Each component is named by its account reference if it has one, else by its smallest reference."""
    config = config or IdentityConfig()
    left = links["source_customer_ref"].combine_chunks()
    right = links["linked_ref"].combine_chunks()
    blocked = pc.or_(is_blocked(left, config), is_blocked(right, config))
    usable = pc.and_(pc.invert(blocked), pc.not_equal(left, right))
    report = {"links": len(left), "blocked_links": int(pc.sum(blocked).as_py() or 0), "hubs": [], "cut": []}
    left, right = left.filter(usable), right.filter(usable)
    refs = pc.unique(pa.concat_arrays([left, right]))
    n = len(refs)
    if n == 0:
        report.update(identifiers=0, customers=0, largest=[], over_limit=0, hub_count=0)
        return Resolved(RESOLUTION_SCHEMA.empty_table(), report)
    rank = _ranks(refs)  # ties are broken by the reference, so the answer never depends on input order
    a, b = pc.index_in(left, refs).to_numpy(), pc.index_in(right, refs).to_numpy()
    pairs = np.unique(np.concatenate([np.stack([a, b], 1), np.stack([b, a], 1)]), axis=0)  # both directions, once
    src, dst = pairs[:, 0], pairs[:, 1]
    kinds = ref_types(refs).to_numpy(zero_copy_only=False)
    is_account = kinds == "account"
    limits = {kind: limit for kind, limit in config.max_per_customer.items()}
    # Hubs: an identifier tied directly to more identifiers of a type than one customer may have. An
    # account is the customer itself, never a hub (many devices or contacts per account are normal).
    hub = np.zeros(n, dtype=bool)
    for kind, limit in limits.items():
        ties = np.bincount(src[kinds[dst] == kind], minlength=n)
        hub |= ties > limit
    hub &= ~is_account
    report["hub_count"] = int(hub.sum())
    report["hubs"] = _named(refs, np.flatnonzero(hub), np.bincount(src, minlength=n), rank)  # the busiest 20
    keep = ~(hub[src] | hub[dst])
    src, dst = src[keep], dst[keep]
    # Components still over a limit are cut at their busiest identifier that is not an account.
    for _ in range(CUT_PASSES):
        component = _components(n, src, dst)
        over = np.zeros(component.max() + 1, dtype=bool)
        of_over_type = np.zeros(n, dtype=bool)  # an identifier of a type its component has too many of
        for kind, limit in limits.items():
            too_many = np.bincount(component[kinds == kind], minlength=len(over)) > limit
            over |= too_many
            of_over_type |= (kinds == kind) & too_many[component]
        if not over.any():
            break
        degree = np.bincount(src, minlength=n)
        candidates = np.flatnonzero(over[component] & ~is_account & (degree > 0))
        if not len(candidates):
            break
        # per component: the busiest; among equals one of a type over its limit, then the smaller reference
        order = np.lexsort((rank[candidates], ~of_over_type[candidates], -degree[candidates], component[candidates]))
        ranked = candidates[order]
        first = np.concatenate([[True], component[ranked][1:] != component[ranked][:-1]])
        cut = np.zeros(n, dtype=bool)
        cut[ranked[first]] = True
        report["cut"] += _named(refs, np.flatnonzero(cut), degree, rank)
        keep = ~(cut[src] | cut[dst])
        src, dst = src[keep], dst[keep]
    component = _components(n, src, dst)
    over = np.zeros(component.max() + 1, dtype=bool)
    for kind, limit in limits.items():
        over |= np.bincount(component[kinds == kind], minlength=len(over)) > limit
    rank = pc.if_else(pc.starts_with(refs, ACCOUNT_PREFIX), 0, 1)
    nodes = pa.table({"ref": refs, "component": pa.array(component), "rank": rank})
    ordered = nodes.take(pc.sort_indices(nodes, [("component", "ascending"), ("rank", "ascending"), ("ref", "ascending")]))
    components = ordered["component"].to_numpy()
    _, first = np.unique(components, return_index=True)
    representative = ordered["ref"].take(pa.array(first))  # one per component, in component order
    root = pc.take(representative, pa.array(component))
    ids = pc.if_else(pc.starts_with(root, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(root, len(ACCOUNT_PREFIX)), root)
    resolved = pa.table([refs, ids], schema=RESOLUTION_SCHEMA)
    sizes = np.bincount(component)
    named = pc.if_else(pc.starts_with(representative, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(representative, len(ACCOUNT_PREFIX)),
                       representative)
    largest = np.lexsort((_ranks(named), -sizes))[:LARGEST]
    report.update(identifiers=n, customers=int(len(sizes)), over_limit=int(over.sum()), largest=[
        {"customer_id": representative[int(c)].as_py().removeprefix(ACCOUNT_PREFIX), "identifiers": int(sizes[c]),
         "by_type": {str(k): int(v) for k, v in zip(*np.unique(kinds[component == c], return_counts=True))}}
        for c in largest])
    return Resolved(resolved.take(pc.sort_indices(resolved, [("source_customer_ref", "ascending")])), report)


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    graph = sparse.coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _ranks(refs: pa.Array) -> np.ndarray:
    """Each reference's place in sorted order."""
    rank = np.empty(len(refs), dtype=np.int64)
    rank[pc.sort_indices(refs).to_numpy()] = np.arange(len(refs))
    return rank


def _named(refs: pa.Array, rows: np.ndarray, degree: np.ndarray, rank: np.ndarray, most: int = BUSIEST) -> list[dict]:
    """The busiest of `rows` as {ref, links} (ties: the smaller reference first), for the report
    (personal identifiers are hashes already)."""
    top = rows[np.lexsort((rank[rows], -degree[rows]))][:most]
    return [{"ref": refs[int(i)].as_py(), "links": int(degree[i])} for i in top]


def stitch(table: pa.Table, resolution: pa.Table, config: IdentityConfig | None = None) -> pa.Table:
    """Add customer_id: the resolved id, else the ref itself (account refs lose their prefix); a record
    whose own identifier is blocked is its own customer, 'unidentified:<interaction_id>'."""
    refs = table["source_customer_ref"]
    index = pc.index_in(refs, resolution["source_customer_ref"])
    resolved = pc.take(resolution["customer_id"], index)
    own = pc.if_else(pc.starts_with(refs, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(refs, len(ACCOUNT_PREFIX)), refs)
    customer = pc.coalesce(resolved, own)
    if config is not None and "interaction_id" in table.column_names:
        unidentified = pc.binary_join_element_wise(UNIDENTIFIED_PREFIX, table["interaction_id"], "")
        customer = pc.if_else(is_blocked(refs, config), unidentified, customer)
    return table.append_column("customer_id", customer)


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
