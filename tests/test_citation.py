"""CITATION.cff is valid Citation File Format 1.2.0 and cites the paper; CHANGELOG.md follows Keep a Changelog.

The schema check uses jsonschema (test extra) with the CFF 1.2.0 schema that cffconvert ships: cffconvert 2.0
itself pins jsonschema < 4, so it is not a test dependency (the test is skipped, with that reason, without it).
"""

import copy
import json
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

import phonomag

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("cffconvert", reason="the CFF 1.2.0 schema comes with cffconvert (pip install cffconvert)")
    schema = json.loads((resources.files("cffconvert") / "schemas" / "1.2.0" / "schema.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def citation():
    # YAML 1.2 reads dates and numbers as the schema expects them (the file has no dates)
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_file_is_valid_cff(validator, citation):
    assert [e.message for e in validator.iter_errors(citation)] == []
    broken = copy.deepcopy(citation)  # control: the validator does reject a file without authors
    del broken["authors"]
    assert list(validator.iter_errors(broken))


def test_citation_names_the_software_and_the_paper(citation):
    assert citation["version"] == phonomag.__version__
    paper = citation["preferred-citation"]
    assert paper["doi"] == "10.1038/s42005-020-0289-3" and paper["journal"] == "Communications Physics"
    assert (paper["volume"], paper["start"], paper["year"]) == (3, 22, 2020)
    assert [a["family-names"] for a in paper["authors"]] == ["Iturbe-Beristain", "Eiguren", "Gurtubay"]
    assert paper in [{k: v for k, v in r.items() if k != "identifiers"} for r in citation["references"]]


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "keepachangelog.com" in text
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.MULTILINE)
    assert releases and releases[0] == ("Unreleased", "")
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) and date for version, date in releases[1:])
    for heading in re.findall(r"^### (.+)$", text, re.MULTILINE):
        assert heading in {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, heading
