import shutil

import pytest

from transforms.tagging.taxonomy import DEFAULT_TAXONOMY, TaxonomyError, load_taxonomy


def test_default_taxonomy_loads_and_stays_small():
    taxonomy = load_taxonomy()
    assert 10 <= len(taxonomy.reasons) <= 50
    assert all(r.dimension in ("people", "product", "process") for r in taxonomy.reasons)
    assert all(len(r.examples) >= 5 for r in taxonomy.reasons)


@pytest.fixture
def taxonomy_dir(tmp_path):
    target = tmp_path / "taxonomy"
    shutil.copytree(DEFAULT_TAXONOMY, target)
    return target


@pytest.mark.parametrize("old, new, message", [
    ("dimension: process\n    phase: i_have_it_now_what", "dimension: money\n    phase: i_have_it_now_what",
     "reasons.yml: reasons[7] (billing_confusion): dimension 'money' is not one of people, product, process"),
    ("charged (twice|double|two times)", "charged (twice", "reasons.yml: reasons[7] (billing_confusion): pattern 'charged (twice' is not a regular expression RE2 runs"),
    # Python's re takes a lookahead; RE2, which runs the patterns on the workers, does not
    ("charged (twice|double|two times)", "charged (?=twice)", "reasons.yml: reasons[7] (billing_confusion): pattern 'charged (?=twice)' is not a regular expression RE2 runs"),
    ("- code: setup_help", "- code: billing_confusion", "reasons.yml: reasons[7] (billing_confusion): code is used twice"),
    ("version: 1", "version: 2", "reasons.yml: version must be 1, found 2"),
])
def test_errors_name_file_entry_and_field(taxonomy_dir, old, new, message):
    path = taxonomy_dir / "reasons.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(taxonomy_dir)
    assert str(err.value).startswith(message)


def test_a_phase_rule_must_say_what_it_signals(taxonomy_dir):
    path = taxonomy_dir / "phases.yml"
    path.write_text(path.read_text().replace("phase: looking_and_deciding, signal: milestone}", "phase: looking_and_deciding, signal: progress}", 1))
    with pytest.raises(TaxonomyError, match="phases.yml: rules\\[0\\]: signal 'progress' is not one of milestone, usage, context"):
        load_taxonomy(taxonomy_dir)


def test_yaml_syntax_errors_give_the_line(taxonomy_dir):
    (taxonomy_dir / "outcomes.yml").write_text("version: 1\ncodes: [unclosed\n")
    with pytest.raises(TaxonomyError, match=r"outcomes.yml: line \d+ not valid YAML"):
        load_taxonomy(taxonomy_dir)


def test_unknown_outcome_in_codes(taxonomy_dir):
    path = taxonomy_dir / "outcomes.yml"
    path.write_text(path.read_text().replace("RESOLVED: resolved", "RESOLVED: fixed"))
    with pytest.raises(TaxonomyError, match="outcomes.yml: codes.call_center.RESOLVED: outcome 'fixed' is not one of"):
        load_taxonomy(taxonomy_dir)


def test_missing_folder():
    with pytest.raises(TaxonomyError, match="taxonomy folder not found"):
        load_taxonomy("/nonexistent/taxonomy")


def test_min_confidence_per_tier(taxonomy_dir):
    path = taxonomy_dir / "reasons.yml"
    text = path.read_text()
    line = "min_confidence: {examples: 0.5, examples_before_embeddings: 0.9, embeddings: 0.5}"
    assert line in text
    path.write_text(text.replace(line, "min_confidence: 0.35"))
    assert load_taxonomy(taxonomy_dir).min_confidence == {"examples": 0.35, "examples_before_embeddings": 0.9, "embeddings": 0.5}
    path.write_text(text.replace(line, "min_confidence: {examples: 2}"))
    with pytest.raises(TaxonomyError, match=r"reasons.yml: min_confidence.examples must be a number from 0 to 1, found 2"):
        load_taxonomy(taxonomy_dir)
