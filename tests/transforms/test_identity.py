import pyarrow as pa
import pytest

from transforms.identity import (
    LINK_SCHEMA,
    CollectTables,
    IdentityConfig,
    IdentityConfigError,
    load_identity,
    resolve_identities,
    resolve_links,
    stitch,
)

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


GUARDS = IdentityConfig(blocked_values=("", "0", "anonymous", "blocked"), blocked_patterns=(r"\.invalid$",),
                        max_per_customer={"account": 1, "email": 2})


def links(*pairs):
    return pa.table({"source_customer_ref": [a for a, _ in pairs], "linked_ref": [b for _, b in pairs]})


def test_blocked_values_link_nobody_and_their_records_stand_alone():
    resolved = resolve_identities(links(("account:C1", "anon:anonymous"), ("account:C2", "anon:anonymous"),
                                        ("account:C3", "email:noemail@desk.invalid"), ("account:C2", "email:blocked")), GUARDS)
    ids = dict(zip(*resolved.resolution.to_pydict().values()))
    assert ids == {}  # every link touched a blocked value
    assert resolved.report["blocked_links"] == 4
    records = pa.table({"interaction_id": ["ivr:1", "web:2"], "source_customer_ref": ["phone:blocked", "account:0"]})
    assert stitch(records, resolved.resolution, GUARDS)["customer_id"].to_pylist() == ["unidentified:ivr:1", "unidentified:web:2"]


def test_a_shared_household_phone_is_a_hub_and_keeps_customers_apart():
    resolved = resolve_identities(links(("account:C1", "phone:h"), ("account:C2", "phone:h"), ("account:C1", "anon:a1"),
                                        ("account:C2", "anon:a2")), GUARDS)
    ids = dict(zip(*resolved.resolution.to_pydict().values()))
    assert ids["anon:a1"] == "C1" and ids["anon:a2"] == "C2" and ids["phone:h"] == "phone:h"
    assert resolved.report["hubs"] == [{"ref": "phone:h", "links": 2}]


def test_an_account_with_many_identifiers_is_never_a_hub():
    many = links(*[("account:C1", f"email:e{i}") for i in range(4)], ("account:C1", "anon:a"))
    resolved = resolve_identities(many, GUARDS)
    ids = dict(zip(*resolved.resolution.to_pydict().values()))
    assert resolved.report["hubs"] == [] and ids["anon:a"] == "C1"
    kept = sorted(ref for ref, customer in ids.items() if customer == "C1" and ref.startswith("email:"))
    assert len(kept) == 2 and len(resolved.report["cut"]) == 2  # emails cut off, one a pass, down to the limit of 2



def test_a_chain_joining_two_accounts_is_cut_at_its_busiest_identifier():
    chain = links(("account:A", "anon:x"), ("anon:x", "anon:y"), ("anon:y", "account:B"), ("anon:x", "anon:z"))
    resolved = resolve_identities(chain, GUARDS)
    ids = dict(zip(*resolved.resolution.to_pydict().values()))
    assert ids["account:A"] == "A" and ids["account:B"] == "B" and ids["anon:y"] == "B"
    assert [c["ref"] for c in resolved.report["cut"]] == ["anon:x"]  # three links, the busiest
    assert resolved.report["over_limit"] == 0


def test_the_report_names_the_largest_customers():
    resolved = resolve_identities(links(("account:C1", "anon:a"), ("account:C1", "anon:b"), ("account:C2", "anon:c")), GUARDS)
    assert resolved.report["largest"][0] == {"customer_id": "C1", "identifiers": 3, "by_type": {"account": 1, "anon": 2}}
    assert resolved.report["customers"] == 2 and resolved.report["identifiers"] == 5


def test_identity_config_errors_name_the_file(tmp_path):
    bad = tmp_path / "identity.yml"
    bad.write_text("blocked_patterns: ['(a)\\1']\n")
    with pytest.raises(IdentityConfigError, match=r"identity.yml: blocked_patterns\[0\] .* is not an RE2 pattern"):
        load_identity(bad)
    bad.write_text("max_per_customer: {account: 0}\n")
    with pytest.raises(IdentityConfigError, match="whole numbers of 1 or more"):
        load_identity(bad)
    assert load_identity().max_per_customer["account"] == 1
