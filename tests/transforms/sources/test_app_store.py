import json

from tests.conftest import failures, parse_file, write

REVIEW = {"type": "customerReviews", "id": "r1", "attributes": {"rating": 2, "title": "Crashes", "body": "Crashes when I open reports",
                                                                  "reviewerNickname": "jo k", "createdDate": "2026-03-02T02:15:00-08:00",
                                                                  "territory": "USA"}}
# A page as the API returns it, one review per line: each record's source_line is the line it starts on.
SAMPLE_PAGE = '{"data": [\n' + ",\n".join(json.dumps(r) for r in [
    REVIEW,
    dict(REVIEW, id="r2", attributes=dict(REVIEW["attributes"], rating="five")),
    dict(REVIEW, id="r3", type="apps"),
]) + '\n], "links": {"self": "https://api.example/v1/apps/1/customerReviews"}}\n'



def test_reviews_map_rating_to_csat_and_hash_nicknames(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "app_store", "reviews-1.json", SAMPLE_PAGE), "app_store")
    [review] = parsed.good.to_pylist()
    assert (review["interaction_id"], review["interaction_type"], review["csat"], review["source_code"]) == \
        ("app_store:r1", "review_posted", 2, "USA")
    assert review["text"] == "Crashes. Crashes when I open reports"
    assert review["occurred_at"].isoformat() == "2026-03-02T10:15:00+00:00"
    assert review["source_customer_ref"].startswith("reviewer:") and "jo k" not in review["source_customer_ref"]
    assert failures(parsed) == [(3, "invalid_type"), (4, "invalid_value")]


def test_a_page_without_data_is_one_failure(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "app_store", "reviews-2.json", '{"errors": [{"status": "401"}]}'), "app_store")
    assert parsed.good.num_rows == 0 and failures(parsed) == [(1, "missing_field")]
