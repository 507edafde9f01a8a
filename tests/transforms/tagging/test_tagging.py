import pyarrow as pa

from transforms.tagging import Tagger, load_taxonomy

SAMPLE_RECORDS = pa.table({
    "touchpoint": ["call_center", "chat", "email", "chat", "web", "call_center", "chat", "survey", "web", "call_center"],
    "interaction_type": ["call", "chat_conversation", "ticket", "chat_conversation", "page_view", "call",
                         "chat_conversation", "survey_response", "signed_up", "call"],
    "source_code": ["RESOLVED", "closed", "open", "open", "/pricing", "TRANSFERRED", None, "call", "Signed Up", "WEIRD"],
    "source_reason": ["BILLING-QUERY", None, None, None, None, None, None, None, None, None],
    "text": ["whatever they said", "Why was I charged twice?", "the app keeps crashing on start", "hmm, bonjour",
             None, "I'm locked out", "still not working after the fix, I can't log in", "that fixed it, thanks", None, ""],
})


def tagged():
    return Tagger(load_taxonomy()).tag(SAMPLE_RECORDS).to_pylist()


def test_reason_tiers_code_then_rule_then_unknown():
    rows = tagged()
    assert [(r["reason_code"], r["reason_method"]) for r in rows] == [
        ("billing_confusion", "code"),
        ("billing_confusion", "rule"),
        ("bug_report", "rule"),
        ("unknown", None),
        (None, None),
        ("login_problem", "rule"),
        ("login_problem", "rule"),
        ("unknown", None),
        (None, None),
        (None, None),
    ]
    assert rows[0]["reason_evidence"] == "call_center:BILLING-QUERY" and rows[0]["reason_confidence"] == 0.95
    assert rows[1]["reason_evidence"] == "charged twice" and rows[1]["reason_confidence"] == 0.8
    assert rows[1]["reason_dimension"] == "process" and rows[2]["reason_dimension"] == "product"
    assert rows[3]["reason_confidence"] == 0.0 and rows[4]["reason_confidence"] is None


def test_outcome_precedence_code_then_text_then_default():
    rows = tagged()
    assert [(r["outcome"], r["outcome_method"]) for r in rows] == [
        ("resolved", "code"),
        ("resolved", "code"),
        ("pending", "code"),
        ("pending", "code"),
        ("not_applicable", "default"),
        ("transferred", "code"),
        ("unresolved", "text"),
        ("resolved", "text"),
        ("not_applicable", "default"),
        ("unresolved", "default"),
    ]


def test_phase_from_rules_then_reason_hint():
    rows = tagged()
    assert [r["journey_phase"] for r in rows] == [
        "i_have_it_now_what",    # reason hint (billing_confusion)
        "i_have_it_now_what",
        "part_of_core",          # bug_report hint
        None,                    # unknown reason, no rule
        "looking_and_deciding",  # /pricing page rule
        "i_have_it_now_what",
        "i_have_it_now_what",
        None,
        "taking_the_leap",       # Signed Up event rule
        None,
    ]


def test_only_rules_say_a_customer_progressed_a_reason_hint_is_context():
    rows = tagged()
    assert [r["phase_signal"] for r in rows] == [
        "context", "context", "context",  # contacts, phased by their reason's hint
        None,
        "milestone",                      # read the pricing page
        "context", "context",
        None,
        "milestone",                      # signed up
        None,
    ]


def test_examples_tier_tags_what_rules_miss_and_keeps_the_nearest_example():
    table = pa.table({
        "touchpoint": ["chat", "chat"],
        "source_reason": pa.nulls(2, pa.string()),
        "text": ["we want to stop the membership", "zxqv plorf wibble"],
    })
    rows = Tagger(load_taxonomy()).reasons.tag(table).to_pylist()
    assert (rows[0]["reason_code"], rows[0]["reason_method"]) == ("cancel_request", "examples")
    assert 0.2 <= rows[0]["reason_confidence"] <= 1
    assert rows[0]["reason_evidence"] in load_taxonomy().reason("cancel_request").examples + ("Wants to cancel",)
    assert (rows[1]["reason_code"], rows[1]["reason_method"], rows[1]["reason_confidence"]) == ("unknown", None, 0.0)
    assert rows[1]["reason_evidence"].startswith("closest: ")


def test_rules_only_leave_unmatched_text_unknown():
    from transforms.tagging.reasons import ReasonTagger

    table = pa.table({"touchpoint": ["chat"], "source_reason": pa.nulls(1, pa.string()),
                      "text": ["please stop my plan and close everything down"]})
    [row] = ReasonTagger(load_taxonomy(), ("rules",)).tag(table).to_pylist()
    assert (row["reason_code"], row["reason_evidence"]) == ("unknown", None)


def test_greetings_and_thanks_are_never_forced_into_a_reason():
    import pyarrow as pa

    from transforms.tagging import load_taxonomy
    from transforms.tagging.reasons import SMALL_TALK_EVIDENCE, ReasonTagger

    texts = ["Hi there!", "hello?", "Thanks so much, bye", "is anyone there?", "Hi, my card was declined", "hi i want a refund"]
    tagger = ReasonTagger(load_taxonomy(), ("rules", "examples"))
    tagged = tagger.tag(pa.table({"text": texts, "touchpoint": ["chat"] * len(texts), "source_reason": pa.nulls(len(texts), pa.string())}))
    assert tagged["reason_code"].to_pylist() == ["unknown"] * 4 + ["payment_declined", "refund_request"]
    assert tagged["reason_evidence"].to_pylist()[:4] == [SMALL_TALK_EVIDENCE] * 4
    assert tagger.open_texts(tagged).tolist() == []  # and never sent to a slower tier


def test_a_conversation_is_tagged_from_what_the_customer_asked_not_its_greetings():
    import pyarrow as pa

    from transforms.tagging import load_taxonomy
    from transforms.tagging.reasons import ReasonTagger

    texts = ["Hi there!\nhello?\nI want to cancel the membership for our team\nthanks, bye", "Hello\nAre you there?\nthank you"]
    tagged = ReasonTagger(load_taxonomy(), ("rules", "examples")).tag(
        pa.table({"text": texts, "touchpoint": ["chat"] * 2, "source_reason": pa.nulls(2, pa.string())}))
    assert tagged["reason_code"].to_pylist() == ["cancel_request", "unknown"]
    assert tagged["text"].to_pylist() == texts  # the stored text stays whole


def test_when_the_embedding_tier_follows_elsewhere_the_examples_tier_keeps_only_what_it_is_sure_of():
    import pyarrow as pa

    from transforms.tagging import load_taxonomy
    from transforms.tagging.reasons import ReasonTagger

    table = pa.table({"text": ["return the payment to my card please"], "touchpoint": ["chat"], "source_reason": pa.nulls(1, pa.string())})
    alone = ReasonTagger(load_taxonomy(), ("rules", "examples")).tag(table)
    followed = ReasonTagger(load_taxonomy(), ("rules", "examples"), embeddings_follow=True)
    tagged = followed.tag(table)
    assert 0.5 <= alone["reason_confidence"][0].as_py() < 0.9 and alone["reason_method"][0].as_py() == "examples"
    assert tagged["reason_code"][0].as_py() == "unknown" and followed.open_texts(tagged).tolist() == [0]
