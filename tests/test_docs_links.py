"""The README and the docs link only to files that exist (the conventions page among them)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_relative_links_resolve():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_points_to_the_conventions_page():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/physics.md)" in readme
    physics = (ROOT / "docs" / "physics.md").read_text()
    assert "m = −2 μ_B M" in physics and "electrons/bohr³" in physics


def test_no_merge_conflict_markers_are_left():
    """No file of the project keeps the markers of an unresolved merge."""
    markers = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)
    files = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("src/**/*.py"), *ROOT.glob("tests/*.py"),
             *ROOT.glob("scripts/*"), *ROOT.glob("benchmarks/*.py"), ROOT / "pyproject.toml"]
    left = [str(path.relative_to(ROOT)) for path in files if path.is_file() and markers.search(path.read_text())]
    assert left == []


def test_the_project_cites_its_own_conventions_page():
    """Code, docs and scripts cite docs/physics.md, never a design note outside the repository; every
    'docs/physics.md §N' they cite is a section of that page."""
    note = "DESIGN" + ".md"  # spelled in two parts so this file does not cite it itself
    files = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("src/**/*.py"), *ROOT.glob("tests/*.py"),
             *ROOT.glob("scripts/*"), *ROOT.glob("benchmarks/*.py")]
    texts = {path: path.read_text(encoding="utf-8") for path in files if path.is_file()}
    assert [str(p.relative_to(ROOT)) for p, text in texts.items() if note in text] == []
    sections = set(re.findall(r"^## (\d+)\.", (ROOT / "docs" / "physics.md").read_text(encoding="utf-8"), re.M))
    rules = set(re.findall(r"^(\d+)\. \*\*", (ROOT / "docs" / "physics.md").read_text(encoding="utf-8"), re.M))
    cited = {
        m for text in texts.values() for m in re.findall(r"physics\.md(?:\]\(physics\.md\))? §(\d+(?:\.\d+)?)", text)
    }
    assert cited, "nothing cites a section of docs/physics.md"
    for section in cited:
        major, _, minor = section.partition(".")
        assert major in sections and (not minor or minor in rules), f"docs/physics.md has no §{section}"
