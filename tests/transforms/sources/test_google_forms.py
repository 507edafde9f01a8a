import json

from tests.conftest import failures, parse_file, write
from transforms.sources.google_forms import COLUMNS, PHASE_LABELS


def _row(timestamp, role, team, ease, does_well, ticked):
    cells = [timestamp, role, team, *ease, *does_well, ticked]
    return ",".join(f'"{c}"' if ("," in c or "&" in c) else c for c in map(str, cells))


HEADER = ",".join(f'"{c}"' if "," in c or "&" in c else c for c in COLUMNS)
SAMPLE_RESPONSES = "\n".join([
    HEADER,
    _row("3/14/2026 10:22:31", "Leadership team", "Executive", [6, 6, 7, 6, 5, 6], [4, 4, 5, 4, 4, 4], "Looking & Deciding"),
    _row("3/14/2026 11:05:00", "Customer-facing staff", "Support", [5, 4, 2, 4, 5, 6], [4, 3, 2, "", 4, 5],
         "I Have It Now What?, Taking The Leap"),
    _row("3/15/2026 09:00:00", "Other staff", "", ["", "", "", "", "", ""], ["", "", "", "", "", ""], ""),
    _row("3/15/2026 9:00", "Leadership team", "Sales", [6] * 6, [4] * 6, ""),
    _row("3/15/2026 09:00:00", "Intern", "Sales", [6] * 6, [4] * 6, ""),
    _row("3/15/2026 09:00:00", "Customer-facing staff", "Support", [6, 6, 9, 6, 6, 6], [4] * 6, ""),
    _row("3/15/2026 09:00:00", "Customer-facing staff", "Support", [6] * 6, [4, 4, "good", 4, 4, 4], ""),
    _row("3/15/2026 09:00:00", "Customer-facing staff", "Support", [6] * 6, [4] * 6, "Onboarding"),
    _row("", "Customer-facing staff", "Support", [6] * 6, [4] * 6, ""),
]) + "\n"


def test_responses_map_with_answers_kept_by_column(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "internal_survey", "responses.csv", SAMPLE_RESPONSES), "internal_survey")
    leader, staff, blank = parsed.good.to_pylist()
    assert (leader["touchpoint"], leader["interaction_type"], leader["source_code"], leader["team"]) == \
        ("internal_survey", "internal_survey_response", "leadership", "Executive")
    assert leader["occurred_at"].isoformat() == "2026-03-14T10:22:31+00:00"
    assert leader["interaction_id"].startswith("internal_survey:") and leader["source_customer_ref"].startswith("respondent:")
    answers = json.loads(staff["attributes"])
    assert answers[f"How easy do we make it for customers to deal with us? [{PHASE_LABELS[2]}]"] == "2"
    assert answers["What most needs improving?"] == "I Have It Now What?, Taking The Leap"
    assert staff["source_code"] == blank["source_code"] == "staff"  # other staff answer as staff too
    assert len({leader["interaction_id"], staff["interaction_id"], blank["interaction_id"]}) == 3


def test_bad_responses_fail_with_the_column_that_is_wrong(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "internal_survey", "responses.csv", SAMPLE_RESPONSES), "internal_survey")
    assert failures(parsed) == [(5, "invalid_timestamp"), (6, "invalid_value"), (7, "out_of_range"), (8, "out_of_range"),
                                (9, "invalid_value"), (10, "missing_field")]
    messages = parsed.failed.column("error_message").to_pylist()
    assert messages[1] == "Your role Intern is not one of: Leadership team, Customer-facing staff, Other staff"
    assert messages[2] == "How easy do we make it for customers to deal with us? [I Have It Now What?] is not a whole number from 1 to 7: 9"
    assert messages[3].startswith("How well do we do this? [I Have It Now What?] is not a whole number from 1 to 5")
    assert messages[4] == "What most needs improving? names an unknown area: Onboarding"


def test_dbt_reads_the_form_as_the_adapter_does():
    """stg_cx__internal_answers finds questions by the var perception_questions and phases by label."""
    from pathlib import Path

    import yaml

    from transforms.sources.google_forms import DOES_WELL_QUESTION, EASE_QUESTION, IMPROVE_QUESTION
    root = Path(__file__).parents[3]
    dbt = root / "dbt"
    questions = yaml.safe_load((dbt / "dbt_project.yml").read_text())["vars"]["perception_questions"]
    assert questions == {"ease": EASE_QUESTION, "does_well": DOES_WELL_QUESTION, "needs_improving": IMPROVE_QUESTION}
    macro = (dbt / "macros" / "phases.sql").read_text()
    phases = yaml.safe_load((root / "data" / "taxonomy" / "phases.yml").read_text())["phases"]
    assert [p["label"] for p in phases] == list(PHASE_LABELS)
    for phase in phases:
        assert f"('{phase['code']}', '{phase['label']}')" in macro
