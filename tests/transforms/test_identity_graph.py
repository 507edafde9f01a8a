"""Identity resolution by key gives what the one-machine resolver gives, whatever the buckets and rounds."""

import json
import random

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.ingest import LOCAL_RUNNER
from transforms.identity import LINK_SCHEMA, load_identity, resolve_identities
from transforms.identity_graph import ResolveIdentitiesByKey
from transforms.write import read_arrow


def tangled_links(seed: int) -> pa.Table:
    """Links with what the guards are for: shared phones (hubs), an account with too many emails (cut),
    two accounts joined through anonymous ids (cut), placeholder values (blocked), a long anonymous
    chain (more links than rounds), repeats, links to oneself, and links from a held-back file."""
    rng = random.Random(seed)
    rows = []
    for c in range(60):
        account = f"account:C{c:03d}"
        rows += [(account, f"anon:a{c}-{k}", f"web/{c % 4}.jsonl") for k in range(rng.randint(1, 3))]
        if rng.random() < 0.7:
            rows.append((f"zendesk_user:{c}", f"email:e{c}", f"email/{c % 3}.json"))
            rows.append((account, f"email:e{c}", "billing/b.csv"))
        if c % 10 == 0:
            rows.append((account, f"phone:shared{c // 20}", "calls/c.csv"))  # a few accounts share a phone
    rows += [("account:C007", f"email:extra{k}", "billing/b.csv") for k in range(5)]       # over the email limit
    rows += [("account:C010", "anon:bridge"), ("anon:bridge", "anon:bridge2"), ("anon:bridge2", "account:C011")]
    rows += [("phone:hub", f"account:C{c:03d}") for c in range(20, 26)]                   # a hub
    rows += [("account:C001", "email:noemail@callcentre.invalid"), ("anon:x", "anon:x")]
    rows += [(f"anon:chain{k}", f"anon:chain{k + 1}") for k in range(12)]                  # a long chain
    rows += [("account:C040", "anon:only-in-held", "web/held.jsonl")]
    rows = [r if len(r) == 3 else (*r, "misc/m.jsonl") for r in rows]
    rows += rng.sample(rows, 15)  # repeats
    rng.shuffle(rows)
    return pa.table(list(zip(*rows)), schema=LINK_SCHEMA)


@pytest.mark.parametrize("buckets, rounds", [(1, 4), (3, 1), (4, 0), (5, 4)])
def test_resolution_by_key_equals_the_one_machine_resolver(tmp_path, buckets, rounds):
    config = load_identity()
    links = tangled_links(seed=buckets * 10 + rounds)
    held = {"web/held.jsonl": "held back"}
    expected = resolve_identities(links.filter(pa.compute.not_equal(links["source_file"], "web/held.jsonl")), config)
    chunks = [links.slice(i, 40) for i in range(0, links.num_rows, 40)]
    with TestPipeline(runner=LOCAL_RUNNER) as p:
        held_files = beam.pvalue.AsSingleton(p | "Held" >> beam.Create([held]))
        out = (p | beam.Create(chunks)
               | ResolveIdentitiesByKey(str(tmp_path / "stage"), buckets, config, str(tmp_path / "links"), held_files, rounds))
        _ = out["report"] | beam.Map(lambda report: (tmp_path / "report.json").write_text(json.dumps(report)))
        _ = out["resolution"] | beam.Map(lambda kv: pq.write_table(read_arrow([kv[1]]), str(tmp_path / f"resolution-{kv[0]}.parquet")))
    got = pa.concat_tables([pq.read_table(p) for p in sorted(tmp_path.glob("resolution-*.parquet"))])
    assert sorted(zip(*got.to_pydict().values())) == sorted(zip(*expected.resolution.to_pydict().values()))
    assert json.loads((tmp_path / "report.json").read_text()) == expected.report
    assert expected.report["hub_count"] >= 1 and expected.report["cut"] and expected.report["blocked_links"] >= 1
    written = pa.concat_tables([pq.read_table(p) for p in (tmp_path / "links").glob("*.parquet")])
    assert written.num_rows == links.num_rows - 1  # every link but the held-back file's, for the next run


def test_the_one_machine_resolver_does_not_depend_on_the_order_of_links():
    config = load_identity()
    links = tangled_links(seed=1)
    first = resolve_identities(links, config)
    again = resolve_identities(links.take(pa.array(random.Random(2).sample(range(links.num_rows), links.num_rows))), config)
    assert first.resolution.equals(again.resolution) and first.report == again.report
