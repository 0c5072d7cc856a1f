"""The pages in a real headless Chromium (Debian chromium + chromedriver, via selenium): load the
table, sort, filter, open a model page, see the plots; screenshots go to the test artefact dir
(LEADERBOARD_ARTEFACTS, default build/test-artefacts/leaderboard, git-ignored)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from leaderboard.ingest import store_push
from leaderboard.schemas import PushPayload
from tests.leaderboard.helpers import imitation, payload
from tests.support.skips import needs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ARTEFACTS = Path(os.environ.get("LEADERBOARD_ARTEFACTS", "build/test-artefacts/leaderboard"))

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason=needs("chromium", "chromium and chromedriver are not installed"))


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def filled(sqlite_engine):
    bodies = [payload("base-small", acc=(0.2, 0.3), seed=1, params=135_000_000),
              payload("base-large", acc=(0.3, 0.4), seed=2, params=1_700_000_000),
              payload("gpt-teacher", kind="teacher", acc=(0.7, 0.8), seed=3),
              imitation("small-sharegpt-1m", "base-small", "gpt-teacher", (0.25, 0.3), 4,
                        tokens=1_000_000),
              imitation("small-sharegpt-10m", "base-small", "gpt-teacher", (0.22, 0.35), 5,
                        tokens=10_000_000),
              imitation("large-nq-synth", "base-large", "gpt-teacher", (0.5, 0.4), 6,
                        tokens=2_000_000, data="nq-synthetic")]
    for body in bodies:
        store_push(sqlite_engine, PushPayload.model_validate(body))
    return sqlite_engine


def _names(driver):
    from selenium.webdriver.common.by import By

    return [r.get_attribute("data-name") for r in
            driver.find_elements(By.CSS_SELECTOR, "#board tbody tr") if r.is_displayed()]


def _loaded_plots(driver) -> int:
    """How many plot images on the page were decoded, at a readable size."""
    from selenium.webdriver.common.by import By

    return sum(1 for img in driver.find_elements(By.CSS_SELECTOR, "img.plot")
               if driver.execute_script("return arguments[0].complete && "
                                        "arguments[0].naturalWidth", img) > 200
               and img.size["width"] > 200)


def test_table_sort_filter_model_page_and_plot(browser, filled, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.get(server.url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Does imitation")
    assert len(_names(browser)) == 6
    assert "gap" in browser.find_element(By.ID, "board").text
    # sort by the NQ column (scores descending, then ascending)
    header = browser.find_element(By.CSS_SELECTOR, "th[title*='imitation_nq_open_0shot']")
    col = int(header.get_attribute("data-col")[1:])
    header.click()

    def scores():
        out = []
        for row in browser.find_elements(By.CSS_SELECTOR, "#board tbody tr"):
            raw = row.find_elements(By.CSS_SELECTOR, "td.score")[col].get_attribute("data-score")
            out.append(float(raw))
        return out

    assert scores() == sorted(scores(), reverse=True)
    header.click()
    assert scores() == sorted(scores())
    browser.save_screenshot(str(ARTEFACTS / "table-sorted.png"))
    # filter: one base model, then a data kind
    Select(browser.find_element(By.ID, "f-base")).select_by_value("base-small")
    assert set(_names(browser)) == {"base-small", "gpt-teacher", "small-sharegpt-1m",
                                    "small-sharegpt-10m"}
    Select(browser.find_element(By.ID, "f-base")).select_by_value("")
    Select(browser.find_element(By.ID, "f-data")).select_by_value("nq-synthetic")
    assert "small-sharegpt-1m" not in _names(browser)
    assert "large-nq-synth" in _names(browser)
    browser.find_element(By.ID, "f-name").send_keys("large")
    assert set(_names(browser)) == {"base-large", "large-nq-synth"}
    browser.save_screenshot(str(ARTEFACTS / "table-filtered.png"))
    # open a model page
    browser.find_element(By.LINK_TEXT, "large-nq-synth").click()
    assert browser.find_element(By.ID, "model-name").text == "large-nq-synth"
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "nq-synthetic" in page and "Per-item flips" in page and "fixed" in page
    browser.save_screenshot(str(ARTEFACTS / "model-page.png"))
    # a plot: the data-scaling page shows matplotlib SVG images (loaded under the CSP)
    browser.get(server.url + "/scaling")
    assert _loaded_plots(browser) >= 3
    browser.save_screenshot(str(ARTEFACTS / "scaling.png"))
    assert (ARTEFACTS / "scaling.png").stat().st_size > 10_000


def test_static_export_works_from_disk(browser, filled, tmp_path):
    from selenium.webdriver.common.by import By

    from leaderboard.export import export_html

    export_html(filled, tmp_path / "site", draws=100)
    browser.get((tmp_path / "site" / "index.html").as_uri())
    assert len(_names(browser)) == 6
    browser.find_element(By.ID, "f-name").send_keys("small")
    assert set(_names(browser)) == {"base-small", "small-sharegpt-1m", "small-sharegpt-10m"}
    browser.find_element(By.LINK_TEXT, "small-sharegpt-10m").click()
    assert browser.find_element(By.ID, "model-name").text == "small-sharegpt-10m"
    browser.find_element(By.LINK_TEXT, "Data scaling").click()
    assert _loaded_plots(browser) >= 3
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "static-export-scaling.png"))
