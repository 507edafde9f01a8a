from datetime import datetime, timezone

from tests.conftest import failures, parse_file, write

COLUMNS = ("StartDate,EndDate,Status,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,ExternalReference,"
           "DistributionChannel,UserLanguage,Q_Touchpoint,Q_CES,Q_CSAT,Q_NPS,Q_Verbatim")
SAMPLE_SURVEY = "\n".join([
    COLUMNS,
    "Start Date,End Date,Response Type,Progress,Duration,Finished,Recorded Date,Response ID,External Reference,"
    "Channel,Language,Which channel?,Easy?,Satisfied?,Recommend?,Why?",
    '"{""ImportId"":""startDate""}",,,,,,,,,,,,,,,',
    '2026-04-01 10:34:25,2026-04-01 10:36:25,IP Address,100,120,True,2026-04-01 10:36:25,R_1,C1,email,EN,call,2,1,3,"Still charged twice, third time calling"',
    "2026-04-01 10:34:25,2026-04-01 10:36:25,IP Address,100,120,True,2026-04-01 10:36:25,R_2,C2,email,EN,chat,9,5,10,",
    "2026-04-01 10:34:25,2026-04-01 10:36:25,IP Address,100,120,True,2026-04-01 10:36:25,R_3,C3,email,EN,chat,seven,5,10,",
    "2026-04-01 10:34:25,2026-04-01 10:36:25,IP Address,100,120,True,2026-04-01 10:36:25,R_4,,email,EN,chat,7,5,10,",
]) + "\n"


def test_survey_responses_map_scores_after_three_header_rows(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "survey", "responses.csv", SAMPLE_SURVEY), "survey")
    [row] = parsed.good.to_pylist()
    assert row["interaction_id"] == "survey:R_1" and row["source_line"] == 4
    assert (row["ces"], row["csat"], row["nps"]) == (2, 1, 3)
    assert row["occurred_at"] == datetime(2026, 4, 1, 10, 36, 25, tzinfo=timezone.utc)
    assert row["source_code"] == "call" and row["text"].startswith("Still charged twice")
    assert '"Duration (in seconds)":"120"' in row["attributes"]


def test_survey_failures(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "survey", "responses.csv", SAMPLE_SURVEY), "survey")
    assert failures(parsed) == [(5, "out_of_range"), (6, "invalid_type"), (7, "missing_field")]
    assert parsed.failed["error_message"][0].as_py() == "ces 9 is outside 1-7"
