"""Loading: documents, their places, and the errors a user sees for broken input."""

from __future__ import annotations

import pytest

from petset.api.errors import InvalidError
from petset.api.loader import MAX_INPUT_BYTES, load_documents


def _error(text: str, source: str = "web.yaml") -> InvalidError:
    with pytest.raises(InvalidError) as caught:
        load_documents(text, source)
    return caught.value


def test_multi_document_yaml_skips_empty_documents_and_knows_positions() -> None:
    text = "# comment only\n---\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\nkind: Pod\n"
    docs = load_documents(text, "web.yaml")
    assert [d.obj["kind"] for d in docs] == ["ConfigMap", "Pod"]
    assert [d.index for d in docs] == [0, 1]
    assert docs[0].line == 3 and docs[1].line == 7
    assert docs[0].where() == "web.yaml#1 (ConfigMap/a)"
    assert docs[1].where() == "web.yaml#2 (Pod/?)"


def test_kind_list_expands_into_its_items() -> None:
    text = "kind: List\nitems:\n- {kind: Pod, metadata: {name: p}}\n- {kind: Service}\n"
    docs = load_documents(text, "<stdin>")
    assert [d.obj["kind"] for d in docs] == ["Pod", "Service"]
    assert docs[0].where() == "<stdin>#1 (Pod/p)"


def test_json_input_is_accepted_even_with_tabs() -> None:
    docs = load_documents('{\n\t"kind": "Pod",\n\t"metadata": {"name": "p"}\n}', "pod.json")
    assert docs[0].obj == {"kind": "Pod", "metadata": {"name": "p"}}


def test_dates_stay_strings_and_keys_become_strings_as_in_kubernetes() -> None:
    docs = load_documents("data:\n  day: 2024-01-01\n  80: http\n  on: x\n", "cm.yaml")
    assert docs[0].obj["data"] == {"day": "2024-01-01", "80": "http", "true": "x"}


def test_yaml_syntax_error_names_source_line_and_column() -> None:
    err = _error("kind: Pod\nmetadata:\n  name: web\n labels: {a: b}\n")
    assert str(err).startswith("web.yaml: invalid YAML")
    assert len(err.problems) == 1
    assert err.problems[0].startswith("web.yaml: line 4, column 2: ")
    assert "indentation" in err.problems[0]


def test_unclosed_flow_sequence_points_at_the_line() -> None:
    err = _error("kind: Pod\nargs: [a, b\nimage: x\n")
    assert "web.yaml: line 3" in err.problems[0]
    assert "started at line 2" in err.problems[0]


def test_duplicate_keys_are_errors_with_the_line() -> None:
    err = _error("kind: Pod\nmetadata: {name: a}\nkind: Service\n")
    assert err.problems == ["web.yaml: line 3, column 1: mapping key 'kind' already defined above"]


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing here\n", "---\n---\n"])
def test_empty_input_is_an_error(text: str) -> None:
    assert str(_error(text)) == "web.yaml: no objects found"


def test_a_document_that_is_not_a_mapping_is_an_error() -> None:
    err = _error("kind: Pod\n---\n- a\n- b\n")
    assert "web.yaml#2 (line 3): expected a mapping" in err.problems[0]
    assert "list" in err.problems[0]


def test_input_over_3_mib_is_refused_before_parsing() -> None:
    big = "kind: ConfigMap\ndata:\n  blob: " + "x" * MAX_INPUT_BYTES + "\n"
    err = _error(big, "big.yaml")
    assert str(err).startswith("big.yaml: 3.0 MiB is over the 3 MiB limit")
    assert "split" in str(err)


def test_input_just_under_the_limit_loads() -> None:
    body = "x" * (MAX_INPUT_BYTES - 100)
    docs = load_documents(f"kind: ConfigMap\ndata:\n  blob: {body}\n", "big.yaml")
    assert len(docs[0].obj["data"]["blob"]) == len(body)


def test_tabs_in_indentation_are_named() -> None:
    err = _error("kind: Pod\nmetadata:\n\tname: web\n")
    assert err.problems[0].startswith("web.yaml: line 3, column 1: ")
    assert "spaces, not tabs" in err.problems[0]
