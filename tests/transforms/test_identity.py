import pyarrow as pa

from transforms.identity import LINK_SCHEMA, CollectTables, resolve_links, stitch

SAMPLE_LINKS = pa.table({
    "source_customer_ref": ["account:C1", "stripe:cus_1", "account:C2", "zendesk_user:7", "anon:x"],
    "linked_ref": ["anon:a1", "account:C1", "anon:a2", "account:C2", "anon:y"],
})


def test_components_resolve_to_their_account():
    resolution = dict(zip(*resolve_links(SAMPLE_LINKS).to_pydict().values()))
    assert resolution == {
        "account:C1": "C1", "anon:a1": "C1", "stripe:cus_1": "C1",
        "account:C2": "C2", "anon:a2": "C2", "zendesk_user:7": "C2",
        "anon:x": "anon:x", "anon:y": "anon:x",
    }


def test_resolution_does_not_depend_on_input_order():
    reversed_links = SAMPLE_LINKS.take(list(range(SAMPLE_LINKS.num_rows))[::-1])
    assert resolve_links(reversed_links).equals(resolve_links(SAMPLE_LINKS))


def test_stitch_falls_back_to_the_reference_itself():
    records = pa.table({"source_customer_ref": ["anon:a1", "account:C9", "anon:zz", "stripe:cus_1"]})
    stitched = stitch(records, resolve_links(SAMPLE_LINKS))
    assert stitched["customer_id"].to_pylist() == ["C1", "C9", "anon:zz", "C1"]


def test_combine_fn_merges_link_tables_from_many_chunks():
    fn = CollectTables(LINK_SCHEMA)
    a = fn.add_input(fn.create_accumulator(), SAMPLE_LINKS.slice(0, 2))
    b = fn.add_input(fn.create_accumulator(), SAMPLE_LINKS.slice(2))
    merged = fn.extract_output(fn.merge_accumulators([a, b]))
    assert resolve_links(merged).equals(resolve_links(SAMPLE_LINKS))
    assert fn.extract_output(fn.create_accumulator()).num_rows == 0
