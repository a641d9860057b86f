"""CITATION.cff is valid Citation File Format 1.2.0 and cites the paper; CHANGELOG.md follows Keep a Changelog.

The schema check uses jsonschema (test extra) with the CFF 1.2.0 schema that cffconvert ships. cffconvert 2.0
pins jsonschema < 4, so it is not installed as a test dependency: where it is absent its wheel is downloaded
from PyPI (no dependencies, not installed) and the schema read from it; without PyPI the test is skipped.
"""

import copy
import json
import re
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest
import yaml

import phonomag

ROOT = Path(__file__).resolve().parents[1]


SCHEMA_IN_PACKAGE = "cffconvert/schemas/1.2.0/schema.json"


def _cff_schema(folder: Path) -> dict:
    """The CFF 1.2.0 schema of cffconvert: from the installed package, else from its wheel (downloaded, not
    installed)."""
    try:
        return json.loads((resources.files("cffconvert") / "schemas" / "1.2.0" / "schema.json").read_text())
    except ModuleNotFoundError:
        pass
    download = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                               "cffconvert==2.0.0", "-d", str(folder)], capture_output=True, text=True, timeout=120)
    wheels = sorted(folder.glob("cffconvert-*.whl"))
    if download.returncode != 0 or not wheels:
        pytest.skip(
            f"cffconvert (the CFF 1.2.0 schema) is neither installed nor downloadable: {download.stderr[-200:]}"
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        return json.loads(wheel.read(SCHEMA_IN_PACKAGE))


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    jsonschema = pytest.importorskip("jsonschema")
    schema = _cff_schema(tmp_path_factory.mktemp("cffconvert"))
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
