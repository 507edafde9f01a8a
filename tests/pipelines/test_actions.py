import datetime as dt

import pytest

from pipelines.actions import ActionsError, load_actions

HEADER = "action_id,root_cause,journey_phase,touchpoint,action,owner,opened_on,due_on,status,done_on\n"
CODES = {"billing_confusion", "login_problem"}


def test_actions_are_read_typed_and_blank_lines_skipped(tmp_path):
    path = tmp_path / "actions.csv"
    path.write_text("\ufeff" + HEADER
                    + "A1,billing_confusion,i_have_it_now_what,,Explain invoices, Billing ,2026-02-01,2026-03-31,done,2026-04-05\n"
                    + ",,,,,,,,,\n"
                    + "A2,login_problem,,chat,New reset email,,,,open,\n")
    table = load_actions(path, CODES)
    first, second = table.to_pylist()
    assert first["done_on"] == dt.date(2026, 4, 5) and first["owner"] == "Billing" and first["touchpoint"] is None
    assert second["touchpoint"] == "chat" and second["owner"] is None and second["due_on"] is None


def test_no_file_is_no_actions(tmp_path):
    assert load_actions(tmp_path / "missing.csv").num_rows == 0
    assert load_actions(None).num_rows == 0


@pytest.mark.parametrize("rows, message", [
    ("A1,billing_confusion,,,x,,,,done,\n", "actions.csv:2: status is done but done_on is empty"),
    ("A1,billing_confusion,,,x,,,,closed,\n", "actions.csv:2: status closed is not one of: open, in_progress, done, dropped"),
    ("A1,biling_confusion,,,x,,,,open,\n", "actions.csv:2: root_cause biling_confusion is not a reason code of the taxonomy"),
    ("A1,billing_confusion,,,x,,31/03/2026,,open,\n", "actions.csv:2: opened_on '31/03/2026' is not a date (YYYY-MM-DD)"),
    ("A1,billing_confusion,,,x,,,,open,\nA1,login_problem,,,y,,,,open,\n", "actions.csv:3: action_id A1 is already on line 2"),
    ("A1,billing_confusion,,,,,,,open,\n", "actions.csv:2: action is empty"),
    ("A1,billing_confusion,onboarding,,x,,,,open,\n", "actions.csv:2: journey_phase onboarding is not one of: looking_and_deciding"),
    ("A1,billing_confusion,,,x,,2026-03-01,,done,2026-02-01\n", "actions.csv:2: done_on 2026-02-01 is before opened_on 2026-03-01"),
    ("A1,billing_confusion,,,x,,,,open,,extra\n", "actions.csv:2: more values than the 10 columns"),
])
def test_a_bad_action_names_file_line_and_column(tmp_path, rows, message):
    path = tmp_path / "actions.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(ActionsError) as error:
        load_actions(path, CODES)
    assert str(error.value).startswith(f"{tmp_path}/{message}")


def test_a_missing_column_is_named(tmp_path):
    path = tmp_path / "actions.csv"
    path.write_text("action_id,root_cause,status\nA1,billing_confusion,open\n")
    with pytest.raises(ActionsError, match="actions.csv:1: missing columns journey_phase, touchpoint, action, owner"):
        load_actions(path, CODES)
