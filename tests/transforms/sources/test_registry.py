import pytest

from transforms.sources import DEFAULT_TOUCHPOINTS, AdapterConfigError, load_adapters


def test_the_default_configuration_names_every_built_in_touchpoint():
    assert sorted(load_adapters()) == ["app", "app_store", "billing", "call_center", "chat", "email", "internal_survey", "ivr", "orders",
                                       "product", "social", "survey", "web"]


@pytest.mark.parametrize("text, message", [
    ("touchpoints:\n  web: [oops\n", "line 2: not valid YAML"),
    ("version: 1\n", "expected a 'touchpoints:' mapping"),
    ("touchpoints:\n  web: transforms.sources.segment\n", "line 2: touchpoints.web: expected 'python.module:ADAPTER'"),
    ("touchpoints:\n  fax: no_such_module:FAX\n", "line 2: touchpoints.fax: cannot import no_such_module (ModuleNotFoundError"),
    ("touchpoints:\n  web: transforms.sources.segment:NOPE\n", "line 2: touchpoints.web: transforms.sources.segment:NOPE is not a SourceAdapter"),
    ("touchpoints:\n  Web Events: transforms.sources.segment:WEB\n", "touchpoints.Web Events: a folder name is lower case"),
])
def test_a_broken_configuration_names_file_line_and_entry(tmp_path, text, message):
    path = tmp_path / "touchpoints.yml"
    path.write_text(text)
    with pytest.raises(AdapterConfigError) as caught:
        load_adapters(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(AdapterConfigError, match="cannot read the touchpoints file"):
        load_adapters(tmp_path / "nope.yml")
    assert DEFAULT_TOUCHPOINTS.exists()
