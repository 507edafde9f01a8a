"""Identity resolution by key: the link graph's connected components, found by passing labels along
the links bucket by bucket, so that no worker holds the lake's whole graph.

It gives what transforms.identity.resolve_identities gives on one machine (the tests compare them),
in steps over identifier buckets (a hash of the identifier, the same one the records' lookup uses):

1. StageEdges: every link, both ways, staged in the bucket of the identifier it starts from.
2. FindHubs, per bucket: the links of held-back files go; the lake's links are written for the next
   run; blocked identifiers and links to oneself are dropped; an identifier (not an account) tied to
   more identifiers of one type than allowed is a hub and loses its links (the other end's copy of
   each is named for removal in the other end's bucket).
3. StartLabels, then LABEL_ROUNDS x PassLabels: every identifier starts with its own label (an
   account's sorts first), takes the smallest label its neighbours send, and sends on when it changed.
4. Converge: labels that still differ across a link after the rounds are unified on one worker. That
   table is empty once the rounds have crossed every component (the generator's customers need two),
   and holds only what is left of wider ones otherwise.
5. CountComponents, per label bucket: the components' sizes by identifier type. A component over a
   per-type limit (rare: the guards' business) is resolved again on one worker by resolve_identities,
   which cuts it.
6. WriteResolution, per bucket: each identifier's customer, its component's smallest account, else its
   smallest reference; and the identity report, merged from every step's part.
"""

from __future__ import annotations

import posixpath

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from transforms.dedup import hash_buckets, split
from transforms.identity import (
    ACCOUNT_PREFIX,
    BUSIEST,
    LARGEST,
    LINK_SCHEMA,
    RESOLUTION_SCHEMA,
    CollectTables,
    IdentityConfig,
    is_blocked,
    ref_types,
    resolve_identities,
)
from transforms.quarantine import without_held
from transforms.sources.base import macro_connection
from transforms.steps import BufferedStage, stage_file
from transforms.write import read_arrow, write_arrow, write_parquet

# Rounds of label passing before what is left is unified on one worker: a component whose identifiers
# are all within this many links of its smallest label needs no more.
LABEL_ROUNDS = 4
EDGES, NODES, REMOVED, STATE, MESSAGES, PENDING, BY_LABEL, REPORT, OVER = (
    "edges", "nodes", "removed", "state", "messages", "pending", "by_label", "report", "over")
# under the run's _stage/: every bucket's resolved identities (for the driver's carry-forward)
RESOLUTION_DIR = "identity/resolution"
PAIR_SCHEMA = pa.schema([("src", pa.string()), ("dst", pa.string())])
LABEL_SCHEMA = pa.schema([("node", pa.string()), ("label", pa.string())])
EMPTY_REPORT = {"links": 0, "blocked_links": 0, "hubs": [], "cut": [], "identifiers": 0, "customers": 0,
                "largest": [], "over_limit": 0, "hub_count": 0}


def own_labels(nodes: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """An identifier's starting label: itself, after '0' for an account and '1' otherwise, so that the
    smallest label of a component is its smallest account, else its smallest reference."""
    return pc.binary_join_element_wise(pc.if_else(pc.starts_with(nodes, ACCOUNT_PREFIX), "0", "1"), nodes, "")


def customer_of(labels: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A component's label -> its customer id (an account loses its prefix)."""
    refs = pc.utf8_slice_codeunits(labels, 1)
    return pc.if_else(pc.starts_with(refs, ACCOUNT_PREFIX), pc.utf8_slice_codeunits(refs, len(ACCOUNT_PREFIX)), refs)


def _stage(table: pa.Table, labels: pa.Array, stage_root: str, kind: str, tag: str | None = None):
    """Write each bucket's rows of `table` as one staged file: (bucket, path), tagged `tag` if given."""
    for bucket, part in split(table, labels):
        out = (bucket, write_arrow(part, stage_file(stage_root, kind, f"bucket={bucket:05d}")))
        yield beam.pvalue.TaggedOutput(tag, out) if tag else out


def _one(table: pa.Table, bucket: int, stage_root: str, kind: str, tag: str | None = None):
    """One bucket's table as a staged file: (bucket, path), tagged `tag` if given."""
    out = (bucket, write_arrow(table, stage_file(stage_root, kind, f"bucket={bucket:05d}")))
    return beam.pvalue.TaggedOutput(tag, out) if tag else out


def _smallest(messages: pa.Table) -> pa.Table:
    """(node, label) rows -> the smallest label per node."""
    smallest = messages.group_by("node").aggregate([("label", "min")])
    return smallest.rename_columns(["node", "label"]).select(["node", "label"])


class StageEdges(BufferedStage):
    """Link tables -> (bucket, path) of staged edges: each link both ways, in its start's bucket."""

    main_kind = EDGES

    def __init__(self, stage_root: str, buckets: int, flush_bytes: int = 32 * 1024 * 1024):
        super().__init__(stage_root, flush_bytes)
        self.buckets = buckets

    def setup(self):
        self.con = macro_connection()

    def process(self, links: pa.Table):
        if not links.num_rows:
            return
        both = pa.concat_tables([
            pa.table({"src": links["source_customer_ref"], "dst": links["linked_ref"], "source_file": links["source_file"],
                      "forward": pa.array(np.ones(links.num_rows, dtype=bool))}),
            pa.table({"src": links["linked_ref"], "dst": links["source_customer_ref"], "source_file": links["source_file"],
                      "forward": pa.array(np.zeros(links.num_rows, dtype=bool))}),
        ])
        for bucket, part in split(both, hash_buckets(self.con, both["src"], self.buckets)):
            self.add(EDGES, bucket, part)
        yield from self.flush_if_full()


class FindHubs(beam.DoFn):
    """(bucket, [edge paths]) -> the bucket's usable links without those of hubs (main), its identifiers
    (NODES), the other ends' copies of hub links to remove (REMOVED), and the report's part (REPORT).
    The bucket's links as read (less those of held-back files) are written to `links_dir`."""

    def __init__(self, stage_root: str, buckets: int, config: IdentityConfig, links_dir: str):
        self.stage_root, self.buckets, self.config, self.links_dir = stage_root, buckets, config, links_dir

    def setup(self):
        self.con = macro_connection()

    def process(self, element, held: dict[str, str] | None = None):
        bucket, paths = element
        edges = without_held(read_arrow(sorted(paths)), held or {})
        forward = edges.filter(edges["forward"])
        if forward.num_rows:
            write_parquet(pa.table([forward["src"], forward["dst"], forward["source_file"]], schema=LINK_SCHEMA),
                          posixpath.join(self.links_dir, f"bucket={bucket:05d}.parquet"))
        blocked = pc.or_(is_blocked(edges["src"], self.config), is_blocked(edges["dst"], self.config))
        report = {"links": forward.num_rows, "blocked_links": int(pc.sum(pc.and_(blocked, edges["forward"])).as_py() or 0)}
        usable = edges.filter(pc.fill_null(pc.and_(pc.invert(blocked), pc.not_equal(edges["src"], edges["dst"])), False))
        pairs = usable.select(["src", "dst"]).group_by(["src", "dst"]).aggregate([])
        if not pairs.num_rows:
            yield beam.pvalue.TaggedOutput(REPORT, report)
            return
        yield _one(pairs.select(["src"]).group_by("src").aggregate([]).rename_columns(["node"]), bucket, self.stage_root, NODES, NODES)
        hubs = self._hubs(pairs)
        degree = pairs.group_by("src").aggregate([("dst", "count")])
        named = degree.filter(pc.is_in(degree["src"], hubs)).sort_by([("dst_count", "descending"), ("src", "ascending")])
        report.update(hub_count=len(hubs), hubs=[{"ref": r, "links": n} for r, n in
                                                 zip(named["src"].to_pylist()[:BUSIEST], named["dst_count"].to_pylist()[:BUSIEST])])
        yield beam.pvalue.TaggedOutput(REPORT, report)
        from_hub = pc.is_in(pairs["src"], hubs)
        kept = pairs.filter(pc.invert(from_hub))
        if kept.num_rows:
            yield _one(kept, bucket, self.stage_root, EDGES)
        mirrors = pairs.filter(from_hub)
        if mirrors.num_rows:
            mirrors = pa.table({"src": mirrors["dst"], "dst": mirrors["src"]})
            yield from _stage(mirrors, hash_buckets(self.con, mirrors["src"], self.buckets), self.stage_root, REMOVED, REMOVED)

    def _hubs(self, pairs: pa.Table) -> pa.Array:
        """Identifiers (not accounts) tied to more identifiers of a type than max_per_customer allows."""
        kinds = ref_types(pairs["dst"].combine_chunks())
        hubs = []
        for kind, limit in self.config.max_per_customer.items():
            ties = pairs.filter(pc.equal(kinds, kind)).group_by("src").aggregate([("dst", "count")])
            hubs.append(ties.filter(pc.greater(ties["dst_count"], limit))["src"])
        found = pc.unique(pa.chunked_array([c for h in hubs for c in h.chunks], pa.string())) if hubs else pa.array([], pa.string())
        return found.filter(pc.invert(pc.starts_with(found, ACCOUNT_PREFIX)))


class PassLabels(beam.DoFn):
    """One round of label passing over a bucket.

    Round 0 (`start`): (bucket, {"nodes", "edges", "removed"}) -> every identifier labelled itself, the
    removed hub links dropped from the bucket's edges. Later rounds: (bucket, {"state", "edges",
    "messages"}) -> each identifier takes the smallest label sent to it. Either way the bucket's
    identifiers whose label changed send it along their links (MESSAGES, to the other end's bucket);
    the new labels go out as STATE and the edges as EDGES, for the next round."""

    def __init__(self, stage_root: str, buckets: int, start: bool = False):
        self.stage_root, self.buckets, self.start = stage_root, buckets, start

    def setup(self):
        self.con = macro_connection()

    def process(self, element):
        bucket, staged = element
        if self.start:
            if not staged["nodes"]:
                return
            nodes = read_arrow(list(staged["nodes"]))["node"]
            state = pa.table([nodes, own_labels(nodes)], schema=LABEL_SCHEMA)
            changed = state
            edges = read_arrow(list(staged["edges"])) if staged["edges"] else PAIR_SCHEMA.empty_table()
            if staged["removed"] and edges.num_rows:
                edges = edges.join(read_arrow(list(staged["removed"])), ["src", "dst"], join_type="left anti")
            edges_path = write_arrow(edges, stage_file(self.stage_root, "graph", f"bucket={bucket:05d}"))
        else:
            if not staged["state"]:
                return
            state = read_arrow(list(staged["state"]))
            [edges_path] = staged["edges"]
            state, changed = _apply(state, list(staged["messages"]))
            edges = read_arrow([edges_path]) if changed.num_rows else PAIR_SCHEMA.empty_table()
        yield _one(state, bucket, self.stage_root, STATE, STATE)
        yield beam.pvalue.TaggedOutput(EDGES, (bucket, edges_path))
        sent = edges.join(changed.rename_columns(["src", "label"]), "src", join_type="inner")
        if sent.num_rows:
            # every label offered, not only the smallest: Converge needs each to unify what the rounds left
            messages = pa.table({"node": sent["dst"], "label": sent["label"]}).group_by(["node", "label"]).aggregate([])
            yield from _stage(messages, hash_buckets(self.con, messages["node"], self.buckets), self.stage_root, MESSAGES, MESSAGES)


def _apply(state: pa.Table, message_paths: list[str]) -> tuple[pa.Table, pa.Table]:
    """Labels after the messages: (new state, the rows whose label changed)."""
    if not message_paths:
        return state, LABEL_SCHEMA.empty_table()
    offered = _smallest(read_arrow(message_paths)).rename_columns(["node", "offered"])
    joined = state.join(offered, "node", join_type="left outer")
    better = pc.fill_null(pc.less(joined["offered"], joined["label"]), False)
    updated = pa.table([joined["node"], pc.if_else(better, joined["offered"], joined["label"])], schema=LABEL_SCHEMA)
    return updated, updated.filter(better)


class Converge(beam.DoFn):
    """(bucket, {"state", "messages"}) after the last round -> the bucket's labels (main) and, as PENDING,
    the (label, smaller label) pairs that messages still carry: labels of one component."""

    def process(self, element):
        bucket, staged = element
        if not staged["state"]:
            return
        [state_path] = staged["state"]
        yield bucket, state_path
        if staged["messages"]:
            state = read_arrow([state_path])
            offered = read_arrow(list(staged["messages"])).group_by(["node", "label"]).aggregate([]).rename_columns(["node", "offered"])
            joined = state.join(offered, "node", join_type="inner")
            pending = joined.filter(pc.less(joined["offered"], joined["label"]))
            if pending.num_rows:
                yield beam.pvalue.TaggedOutput(PENDING, pa.table({"src": pending["label"], "dst": pending["offered"]}))


def unify_labels(pairs: pa.Table) -> pa.Table:
    """(label, label) pairs of one component each -> (label, the smallest label of its component)."""
    if not pairs.num_rows:
        return LABEL_SCHEMA.empty_table().rename_columns(["label", "final"])
    labels = pc.unique(pa.concat_arrays([pairs["src"].combine_chunks(), pairs["dst"].combine_chunks()]))
    a, b = pc.index_in(pairs["src"], labels).to_numpy(), pc.index_in(pairs["dst"], labels).to_numpy()
    graph = sparse.coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(labels), len(labels)))
    component = connected_components(graph, directed=False)[1]
    nodes = pa.table({"label": labels, "component": component})
    smallest = nodes.group_by("component").aggregate([("label", "min")])
    final = nodes.join(smallest, "component").select(["label", "label_min"])
    return final.rename_columns(["label", "final"])


class FinalLabels(beam.DoFn):
    """(bucket, state path) + the unified labels -> (bucket, final state path), and as BY_LABEL the
    bucket's (label, node) rows staged by a hash of the label, for counting components."""

    def __init__(self, stage_root: str, buckets: int):
        self.stage_root, self.buckets = stage_root, buckets

    def setup(self):
        self.con = macro_connection()

    def process(self, element, unified: pa.Table):
        bucket, path = element
        state = read_arrow([path])
        if unified.num_rows:
            joined = state.join(unified, "label", join_type="left outer")
            state = pa.table([joined["node"], pc.coalesce(joined["final"], joined["label"])], schema=LABEL_SCHEMA)
            path = write_arrow(state, stage_file(self.stage_root, "final", f"bucket={bucket:05d}"))
        yield bucket, path
        yield from _stage(state, hash_buckets(self.con, state["label"], self.buckets), self.stage_root, BY_LABEL, BY_LABEL)


class CountComponents(beam.DoFn):
    """(label bucket, [(node, label) paths]) -> the labels of components over a per-type limit (OVER,
    one list) and the report's part: identifiers, customers and the largest of the others."""

    def __init__(self, config: IdentityConfig):
        self.config = config

    def process(self, element):
        _, paths = element
        nodes = read_arrow(list(paths))
        nodes = nodes.append_column("kind", ref_types(nodes["node"].combine_chunks()))
        counts = nodes.group_by(["label", "kind"]).aggregate([("node", "count")])
        over = pa.array([], pa.string())
        for kind, limit in self.config.max_per_customer.items():
            too_many = counts.filter(pc.and_(pc.equal(counts["kind"], kind), pc.greater(counts["node_count"], limit)))
            over = pc.unique(pa.concat_arrays([over, too_many["label"].combine_chunks()]))
        if len(over):
            yield beam.pvalue.TaggedOutput(OVER, over.to_pylist())
        sizes = nodes.group_by("label").aggregate([("node", "count")])
        sizes = sizes.filter(pc.invert(pc.is_in(sizes["label"], over)))
        largest = sizes.append_column("customer_id", customer_of(sizes["label"])).sort_by(
            [("node_count", "descending"), ("customer_id", "ascending")]).slice(0, LARGEST)
        kinds = counts.filter(pc.is_in(counts["label"], largest["label"]))
        by_type: dict[str, dict[str, int]] = {}
        for label, kind, n in zip(kinds["label"].to_pylist(), kinds["kind"].to_pylist(), kinds["node_count"].to_pylist()):
            by_type.setdefault(label, {})[kind] = n
        yield {"identifiers": nodes.num_rows, "customers": sizes.num_rows, "largest": [
            {"customer_id": customer, "identifiers": n, "by_type": dict(sorted(by_type[label].items()))}
            for label, customer, n in zip(largest["label"].to_pylist(), largest["customer_id"].to_pylist(), largest["node_count"].to_pylist())]}


class EdgesOfOverLimit(beam.DoFn):
    """(bucket, {"state": [final state], "edges": [edges]}) + the over-limit labels -> the links of those
    components in this bucket, for resolve_identities to cut on one worker."""

    def process(self, element, over: list[list[str]]):
        _, staged = element
        labels = pa.array(sorted({label for part in over for label in part}), pa.string())
        if not len(labels) or not staged["state"] or not staged["edges"]:
            return
        state = read_arrow(list(staged["state"]))
        members = state.filter(pc.is_in(state["label"], labels))["node"]
        if not len(members):
            return
        edges = read_arrow(list(staged["edges"]))
        edges = edges.filter(pc.is_in(edges["src"], members))
        yield pa.table([edges["src"], edges["dst"], pa.nulls(edges.num_rows, pa.string())], schema=LINK_SCHEMA)


class WriteResolution(beam.DoFn):
    """(bucket, final state path) + the cut components' resolution -> (bucket, resolution path)."""

    def __init__(self, stage_root: str):
        self.stage_root = stage_root

    def process(self, element, cut: pa.Table):
        bucket, path = element
        state = read_arrow([path])
        customers = customer_of(state["label"])
        if cut.num_rows:
            customers = pc.coalesce(pc.take(cut["customer_id"], pc.index_in(state["node"], cut["source_customer_ref"])), customers)
        resolution = pa.table([state["node"], customers], schema=RESOLUTION_SCHEMA)
        yield bucket, write_arrow(resolution, stage_file(self.stage_root, "resolution", f"bucket={bucket:05d}"))


class MergeReports(beam.CombineFn):
    """Parts of the identity report -> the report: counts summed, the busiest hubs and the largest
    customers kept in order (ties: the smaller reference first)."""

    def create_accumulator(self):
        return {key: (list(value) if isinstance(value, list) else value) for key, value in EMPTY_REPORT.items()}

    def add_input(self, acc, part):
        for key, value in part.items():
            acc[key] = acc[key] + value
        acc["hubs"] = sorted(acc["hubs"], key=lambda h: (-h["links"], h["ref"]))[:BUSIEST]
        acc["largest"] = sorted(acc["largest"], key=lambda c: (-c["identifiers"], c["customer_id"]))[:LARGEST]
        return acc

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for acc in accumulators:
            merged = self.add_input(merged, acc)
        return merged

    def extract_output(self, acc):
        return acc


def _cut_part(resolved) -> dict:
    """What resolving the over-limit components on one worker adds to the report."""
    return {key: resolved.report[key] for key in ("customers", "over_limit", "cut", "largest")}


class ResolveIdentitiesByKey(beam.PTransform):
    """Link tables (one PCollection, or several: each is staged in the step that makes it) ->
    {"resolution": (identifier bucket, path), "report": the identity report}.

    `held` (a side input: file -> why) drops the links of held-back files; the lake's links are written
    to `links_dir`, one Parquet file per bucket, for the next run."""

    def __init__(self, stage_root: str, buckets: int, config: IdentityConfig, links_dir: str, held, rounds: int = LABEL_ROUNDS):
        super().__init__()
        self.stage_root, self.buckets, self.config, self.links_dir = posixpath.join(stage_root, "identity"), buckets, config, links_dir
        self.held, self.rounds = held, rounds

    def expand(self, links):
        stage, buckets = self.stage_root, self.buckets
        sources = links if isinstance(links, (tuple, list)) else (links,)
        staged = [source | f"StageEdges{i}" >> beam.ParDo(StageEdges(stage, buckets)) for i, source in enumerate(sources)]
        hubs = (
            staged
            | "StagedEdges" >> beam.Flatten()
            | "EdgesByBucket" >> beam.GroupByKey()
            | "FindHubs" >> beam.ParDo(FindHubs(stage, buckets, self.config, self.links_dir), self.held).with_outputs(
                NODES, REMOVED, REPORT, main=EDGES)
        )
        labelled = ({"nodes": hubs[NODES], "edges": hubs[EDGES], "removed": hubs[REMOVED]}
                    | "GraphByBucket" >> beam.CoGroupByKey()
                    | "StartLabels" >> beam.ParDo(PassLabels(stage, buckets, start=True)).with_outputs(STATE, EDGES, MESSAGES))
        for round_ in range(1, self.rounds + 1):
            labelled = ({"state": labelled[STATE], "edges": labelled[EDGES], "messages": labelled[MESSAGES]}
                        | f"Round{round_}" >> beam.CoGroupByKey()
                        | f"PassLabels{round_}" >> beam.ParDo(PassLabels(stage, buckets)).with_outputs(STATE, EDGES, MESSAGES))
        converged = ({"state": labelled[STATE], "messages": labelled[MESSAGES]}
                     | "LastMessages" >> beam.CoGroupByKey()
                     | "Converge" >> beam.ParDo(Converge()).with_outputs(PENDING, main=STATE))
        unified = (converged[PENDING]
                   | "CollectPending" >> beam.CombineGlobally(CollectTables(PAIR_SCHEMA))
                   | "UnifyLabels" >> beam.Map(unify_labels))
        final = converged[STATE] | "FinalLabels" >> beam.ParDo(FinalLabels(stage, buckets), beam.pvalue.AsSingleton(unified)).with_outputs(
            BY_LABEL, main=STATE)
        counted = (final[BY_LABEL]
                   | "NodesByLabel" >> beam.GroupByKey()
                   | "CountComponents" >> beam.ParDo(CountComponents(self.config)).with_outputs(OVER, main=REPORT))
        cut = (
            {"state": final[STATE], "edges": labelled[EDGES]}
            | "ComponentsByBucket" >> beam.CoGroupByKey()
            | "EdgesOfOverLimit" >> beam.ParDo(EdgesOfOverLimit(), beam.pvalue.AsList(counted[OVER]))
            | "CollectOverLimit" >> beam.CombineGlobally(CollectTables(LINK_SCHEMA))
            | "CutOverLimit" >> beam.Map(resolve_identities, self.config)
        )
        resolution = final[STATE] | "WriteResolution" >> beam.ParDo(
            WriteResolution(stage), beam.pvalue.AsSingleton(cut | "CutResolution" >> beam.Map(lambda r: r.resolution)))
        report = (
            (hubs[REPORT], counted[REPORT], cut | "CutReport" >> beam.Map(_cut_part))
            | "ReportParts" >> beam.Flatten()
            | "MergeReports" >> beam.CombineGlobally(MergeReports())
        )
        return {"resolution": resolution, "report": report}
