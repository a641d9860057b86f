"""report.html in a real browser (headless Chromium + selenium), and the phonon-viewer files against results.nc.

The run is the tiny model run of test_run.py (13 path points, one in-plane map with a 2-frame movie).
The browser test is skipped, with the reason, where Chromium or its driver is not installed
(scripts/install_browser.sh installs them from Debian). Its screenshot stays in pytest's tmp folder
(``report_after_click.png``).
"""

import json
import shutil
import tempfile

import numpy as np
import pytest
import yaml
from scipy.constants import c, e, h
from test_run import CONFIG

from phonomag.cli.main import main
from phonomag.outputs.phonon_website import eigen_displacements
from phonomag.response.modes import read_results

#: meV → cm⁻¹ from scipy's CODATA constants (the writer uses ASE's): ν̃ = E / (h c).
CM_PER_MEV = 1e-3 * e / (h * c * 100)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_run")
    config = folder / "run.toml"
    config.write_text(CONFIG)
    main(["run", "-c", str(config), "-o", str(folder / "out")])
    return folder / "out"


def test_run_writes_a_self_contained_report(finished_run):
    text = (finished_run / "report.html").read_text(encoding="utf-8")
    assert "plotly" in text.lower() and 'id="dispersion"' in text
    for tag in ("<script src=", "<link ", "@import"):  # nothing loaded from elsewhere
        assert tag not in text
    assert "data:image/gif;base64," in text or '"mime":"image/gif"' in text  # the K_odd movie is held


def test_phonon_website_json_has_the_frequencies_and_modes_of_results(finished_run):
    data, dataset = read_results(finished_run / "results.nc")
    site = json.loads((finished_run / "phonon_website.json").read_text())
    for key in ("name", "natoms", "lattice", "atom_types", "atom_numbers", "formula", "repetitions", "atom_pos_car",
                "atom_pos_red", "highsym_qpts", "qpoints", "distances", "eigenvalues", "vectors", "line_breaks"):
        assert key in site, key
    np.testing.assert_allclose(site["eigenvalues"], data.frequencies * CM_PER_MEV, rtol=1e-7)
    np.testing.assert_allclose(site["qpoints"], data.qpoints)
    np.testing.assert_allclose(site["distances"], dataset["path_distance"].values)
    assert site["atom_types"] == ["W", "Se", "Se"] and site["formula"] == "Se2W1"
    assert site["line_breaks"] == [[0, len(data.qpoints)]]
    labels = {label for _, label in site["highsym_qpts"]}
    assert labels == {"Γ", "M", "K"}
    assert all(dataset["label"].values[i] == label for i, label in site["highsym_qpts"])
    vectors = np.array(site["vectors"])
    assert vectors.shape == data.displacements.shape + (2,)
    complex_vectors = vectors[..., 0] + 1j * vectors[..., 1]
    masses = np.array([m["mass"] for m in yaml.safe_load((finished_run / "band.yaml").read_text())["points"]])
    moving = np.abs(data.displacements).sum(axis=(2, 3)) > 0
    norms = np.einsum("qnka,k->qn", np.abs(complex_vectors) ** 2, masses)
    np.testing.assert_allclose(norms[moving], 1.0, rtol=1e-9)  # e/√m with |e| = 1
    # the same direction and phase as the stored displacements: v ∥ u
    overlap = np.abs(np.einsum("qnka,qnka->qn", complex_vectors.conj(), data.displacements))
    np.testing.assert_allclose(overlap[moving], np.linalg.norm(complex_vectors, axis=(2, 3))[moving]
                               * np.linalg.norm(data.displacements, axis=(2, 3))[moving], rtol=1e-9)


def test_band_yaml_frequencies_and_eigenvectors(finished_run):
    data, _ = read_results(finished_run / "results.nc")
    band = yaml.safe_load((finished_run / "band.yaml").read_text())
    thz = np.array([[b["frequency"] for b in point["band"]] for point in band["phonon"]])
    np.testing.assert_allclose(thz, data.frequencies * 1e-3 * e / h / 1e12, rtol=1e-7)
    masses = np.array([p["mass"] for p in band["points"]])
    vectors = np.array([[b["eigenvector"] for b in point["band"]] for point in band["phonon"]])
    expected = eigen_displacements(data, masses) * np.sqrt(masses)[None, None, :, None]
    np.testing.assert_allclose(vectors[..., 0] + 1j * vectors[..., 1], expected, atol=1e-12)


def _browser():
    """A headless Chromium driven by selenium, or the reason why there is none."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        return None, "Chromium and chromedriver not installed (sh scripts/install_browser.sh)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1050", f"--user-data-dir={tempfile.mkdtemp(prefix='phonomag-chromium-')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options), None


def _click_point(browser, iq: int, nu: int) -> None:
    """A real mouse click on point (iq, ν) of the dispersion panel (plotly's own axis → pixel mapping)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    x, y = browser.execute_script("""
        const gd = document.getElementById('dispersion'), L = gd._fullLayout;
        const point = gd.calcdata[arguments[1]][arguments[0]];  // panel (a) holds the traces ν = 0, 1, … first
        return [L.xaxis.l2p(point.x) + L._size.l, L.yaxis.l2p(point.y) + L._size.t];""", iq, nu)
    element = browser.find_element(By.ID, "dispersion")
    size = element.size
    ActionChains(browser).move_to_element_with_offset(element, int(x - size["width"] / 2),
                                                      int(y - size["height"] / 2)).pause(0.3).click().perform()


def test_report_in_a_browser(finished_run, tmp_path):
    from PIL import Image

    browser, reason = _browser()
    if browser is None:
        pytest.skip(reason)
    data, dataset = read_results(finished_run / "results.nc")
    try:
        browser.get((finished_run / "report.html").as_uri())
        browser.implicitly_wait(5)
        assert browser.execute_script("return typeof Plotly") == "object"
        before = browser.execute_script("return document.getElementById('mode-title').textContent")
        assert browser.execute_script("return document.querySelectorAll('#map img').length") == 1  # K_odd's movie
        initial = browser.execute_script("return P.initial")
        side_before = browser.execute_script("return document.getElementById('side').data[0].y.slice()")
        target = (0, int(np.argmax(data.frequencies[0])))  # Γ, the highest mode: not the initial (mapped) K mode
        _click_point(browser, *target)
        browser.implicitly_wait(1)
        after = browser.execute_script("return document.getElementById('mode-title').textContent")
        assert after != before and after.startswith(f"q = Γ (point 0), ν = {target[1]}:"), (before, after)
        assert "not mapped" in browser.execute_script("return document.getElementById('map').textContent")
        side_after = browser.execute_script("return document.getElementById('side').data[0].y.slice()")
        assert not np.allclose(side_before, side_after)  # the atoms of the new mode are drawn (and move)
        mapped = (int(np.flatnonzero(dataset["label"].values == "K")[0]), initial[1])
        _click_point(browser, *mapped)  # back to the mapped mode: its movie again
        assert browser.execute_script("return document.getElementById('mode-title').textContent") == before
        assert browser.execute_script("return document.querySelectorAll('#map img').length") == 1
        shot = tmp_path / "report_after_click.png"
        browser.save_screenshot(str(shot))
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        browser.quit()
    assert errors == []
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10, "blank screenshot"
