from datetime import datetime, timezone

import pytest

from tests.conftest import failures, parse_file, parse_with, write
from transforms.sources import AdapterConfigError, load_adapters
from transforms.sources.qualtrics import qualtrics_adapter

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

# A current export as Qualtrics writes it: QIDs as export tags, question texts, ImportId objects that carry
# the zone the dates are written in; a BOM; a verbatim with a newline.
QID_EXPORT = "\ufeff" + "\n".join([
    "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,RecipientLastName,"
    "RecipientFirstName,RecipientEmail,ExternalReference,LocationLatitude,LocationLongitude,DistributionChannel,UserLanguage,"
    "QID1,QID2,QID3,QID3_NPS_GROUP,QID4_TEXT",
    "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,Response ID,"
    "Recipient Last Name,Recipient First Name,Recipient Email,External Data Reference,Location Latitude,Location Longitude,"
    "Distribution Channel,User Language,\"How easy was it to get your issue resolved?\","
    "\"Overall, how satisfied are you with the support you received?\","
    "\"How likely are you to recommend us to a friend or colleague?\",\"How likely are you to recommend us... - Group\","
    "\"Why did you give that score?\"",
    '"{""ImportId"":""startDate"",""timeZone"":""America/Denver""}","{""ImportId"":""endDate"",""timeZone"":""America/Denver""}",'
    '"{""ImportId"":""status""}","{""ImportId"":""ipAddress""}","{""ImportId"":""progress""}","{""ImportId"":""duration""}",'
    '"{""ImportId"":""finished""}","{""ImportId"":""recordedDate"",""timeZone"":""America/Denver""}",'
    '"{""ImportId"":""_recordId""}","{""ImportId"":""recipientLastName""}","{""ImportId"":""recipientFirstName""}",'
    '"{""ImportId"":""recipientEmail""}","{""ImportId"":""externalDataReference""}","{""ImportId"":""locationLatitude""}",'
    '"{""ImportId"":""locationLongitude""}","{""ImportId"":""distributionChannel""}","{""ImportId"":""userLanguage""}",'
    '"{""ImportId"":""QID1""}","{""ImportId"":""QID2""}","{""ImportId"":""QID3""}","{""ImportId"":""QID3_NPS_GROUP""}",'
    '"{""ImportId"":""QID4_TEXT""}"',
    '2026-03-02 09:58:11,2026-03-02 10:01:40,0,203.0.113.9,100,209,1,2026-03-02 10:01:41,R_3kLdX0aB1c2D3e4,,,,C-1001,'
    ',,email,EN,6,4,9,3,"The agent fixed it,\nfirst time."',
    "2026-03-02 11:00:00,2026-03-02 11:02:00,0,203.0.113.10,100,120,1,2026-03-02 11:02:01,R_9xYzA8bC7dE6f5G,,,,,,,anonymous,"
    "EN,2,1,0,1,",
]) + "\n"

# The legacy export: V1..Vn over the metadata, whose names are in the second row.
LEGACY_EXPORT = "\n".join([
    "V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,Q1,Q2",
    "ResponseID,ResponseSet,Name,ExternalDataReference,EmailAddress,IPAddress,Status,StartDate,EndDate,Finished,"
    "How easy was it to handle your issue?,Anything else you want to tell us?",
    "R_1AbC,Default Response Set,,C-7,,198.51.100.4,0,2025-11-20 14:00:00,2025-11-20 14:03:12,1,3,Took three calls",
]) + "\n"


def test_survey_responses_map_scores_after_three_header_rows(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "survey", "responses.csv", SAMPLE_SURVEY), "survey")
    rows = parsed.good.to_pylist()
    row = rows[0]
    assert row["interaction_id"] == "survey:R_1" and row["source_line"] == 4
    assert (row["ces"], row["csat"], row["nps"]) == (2, 1, 3)
    assert row["occurred_at"] == datetime(2026, 4, 1, 10, 36, 25, tzinfo=timezone.utc)
    assert row["source_code"] == "call" and row["text"].startswith("Still charged twice")
    assert '"Duration (in seconds)":"120"' in row["attributes"]
    # an anonymous response is a good record of its own respondent
    assert [(r["interaction_id"], r["source_customer_ref"]) for r in rows[1:]] == [("survey:R_4", "survey_respondent:R_4")]


def test_survey_failures(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "survey", "responses.csv", SAMPLE_SURVEY), "survey")
    assert failures(parsed) == [(5, "out_of_range"), (6, "invalid_type")]
    assert parsed.failed["error_message"][0].as_py() == "ces 9 is outside 1-7"


def test_a_current_export_finds_its_questions_and_its_zone(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "survey", "Customer Support_March 2, 2026_10.05.csv", QID_EXPORT), "survey")
    assert failures(parsed) == []
    first, second = parsed.good.to_pylist()
    assert (first["ces"], first["csat"], first["nps"]) == (6, 4, 9)
    assert first["text"] == "The agent fixed it,\nfirst time." and first["source_line"] == 4
    assert first["occurred_at"] == datetime(2026, 3, 2, 17, 1, 41, tzinfo=timezone.utc)  # Denver is UTC-7 in March
    assert first["source_customer_ref"] == "account:C-1001"
    assert second["source_line"] == 6 and second["source_customer_ref"] == "survey_respondent:R_9xYzA8bC7dE6f5G"
    assert (second["ces"], second["nps"], second["text"]) == (2, 0, None)


def test_options_name_columns_by_qid_and_set_the_zone(tmp_path, con):
    export = QID_EXPORT.replace('""timeZone"":""America/Denver""', '""other"":""x""')
    adapter = qualtrics_adapter({"ces": "QID2", "nps": "QID3", "verbatim": "QID4_TEXT", "timezone": "Europe/Berlin"})
    parsed = parse_with(con, write(tmp_path, "survey", "export.csv", export), adapter)
    first = parsed.good.to_pylist()[0]
    assert (first["ces"], first["csat"], first["nps"]) == (4, None, 9)
    assert first["occurred_at"] == datetime(2026, 3, 2, 9, 1, 41, tzinfo=timezone.utc)


def test_the_legacy_export_is_read(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "survey", "legacy.csv", LEGACY_EXPORT), "survey")
    [row] = parsed.good.to_pylist()
    assert (row["interaction_id"], row["source_line"], row["ces"], row["text"]) == ("survey:R_1AbC", 3, 3, "Took three calls")
    assert row["source_customer_ref"] == "account:C-7"
    assert row["occurred_at"] == datetime(2025, 11, 20, 14, 3, 12, tzinfo=timezone.utc)


def test_a_tab_separated_export_is_read(tmp_path, con):
    tsv = "\n".join(line.replace(",", "\t") for line in LEGACY_EXPORT.splitlines()) + "\n"
    parsed = parse_file(con, write(tmp_path, "survey", "legacy.tsv", tsv.encode("utf-16")), "survey")
    assert [r["interaction_id"] for r in parsed.good.to_pylist()] == ["survey:R_1AbC"]


@pytest.mark.parametrize("options, message", [
    ({"timezone": "Mars/Olympus"}, "not a time zone name"),
    ({"ces": 4}, "takes a column name"),
])
def test_bad_survey_options_are_one_line(tmp_path, options, message):
    config = tmp_path / "touchpoints.yml"
    config.write_text("touchpoints:\n  survey:\n    adapters: [transforms.sources.qualtrics:qualtrics_adapter]\n"
                      f"    options: {options}\n")
    with pytest.raises(AdapterConfigError, match=message):
        load_adapters(config)


def test_an_option_naming_no_column_fails_the_file_not_the_run(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "survey", "export.csv", QID_EXPORT), qualtrics_adapter({"nps": "QID99"}))
    assert failures(parsed) == [(4, "missing_column"), (6, "missing_column")]
    assert "QID99" in parsed.failed["error_message"][0].as_py()
