"""The raters' page in a real headless Chromium: a rater completes a small study with the
keyboard only, at phone width (375 px, no horizontal scroll), and nothing the browser receives,
nor the page it shows, names a model, an answer file or the reference's side. Every response the
server sends is captured (an ASGI wrapper), and the browser's Performance API shows that these
are all it loaded."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from leaderboard.app import create_app
from leaderboard.auth import create_token
from leaderboard.db import read_session
from leaderboard.settings import Settings
from leaderboard.study.tables import Assignment
from leaderboard.testing_services import ServerThread
from tests.leaderboard.study_helpers import MODEL_FILE, REFERENCE_FILE, make_study
from tests.leaderboard.test_browser import ARTEFACTS, CHROMIUM, DRIVER, browser  # noqa: F401
from tests.support.skips import needs

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason=needs("chromium", "chromium and chromedriver are not installed"))
FORBIDDEN = ("vicuna", "chatgpt", MODEL_FILE, REFERENCE_FILE, ".jsonl", "reference",
             "model")
KEYS = ("1", "b", "e", "2")  # left, right, equal, right
VERDICT = {("1", False): "1", ("1", True): "2", ("b", False): "2", ("b", True): "1",
           ("2", False): "2", ("2", True): "1", ("e", False): "tie", ("e", True): "tie"}


class Capture:
    """ASGI wrapper recording every response: (path, status, headers, body)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app, self.seen = app, []

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, body = {}, []

        async def spy(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, spy)
        headers = b"\n".join(k + b": " + v for k, v in start.get("headers", []))
        self.seen.append((scope["path"], start.get("status"), headers, b"".join(body)))


@pytest.fixture
def phone(browser):
    """test_browser's headless Chromium, showing pages as a 375 px wide phone does."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    return browser


def _wait(driver, condition, what: str, timeout: float = 20.0):  # noqa: ANN001
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d), message=what)


def _fits(driver) -> bool:  # noqa: ANN001
    return driver.execute_script(
        "const w = document.documentElement.clientWidth;"
        "if (document.documentElement.scrollWidth > w) return false;"
        "return [...document.querySelectorAll('body *')].every("
        "  e => e.getBoundingClientRect().right <= w + 0.5);")


def test_rater_completes_a_study_with_the_keyboard_blind(phone, sqlite_engine, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    made = make_study(sqlite_engine, tmp_path, prompts=3, raters=1, checks=1, total=5)
    token = create_token(sqlite_engine, "rater-ann", ["rate"])[1]
    settings = Settings(db=str(sqlite_engine.url), requests_per_minute=10_000)
    app = Capture(create_app(settings, sqlite_engine))
    pressed = []
    with ServerThread(app) as srv:
        phone.get(srv.url + made["rate_url"])
        _wait(phone, lambda d: d.find_element(By.ID, "token").is_displayed(), "token form")
        phone.switch_to.active_element.send_keys(token + Keys.ENTER)  # focus starts there
        for k, key in enumerate(KEYS):
            _wait(phone, lambda d: d.find_element(By.ID, "progress").text == f"{k + 1} of 4"
                  and d.find_element(By.ID, "task").is_displayed(), f"pair {k + 1} of 4")
            assert "Keys:" in phone.find_element(By.ID, "task").text
            assert _fits(phone), "the page is wider than 375 px"
            if k == 0:
                ARTEFACTS.mkdir(parents=True, exist_ok=True)
                phone.save_screenshot(str(ARTEFACTS / "rate-phone.png"))
                assert not _held_key_rates(phone), "a key's auto-repeat rated a pair"
            pressed.append(((phone.find_element(By.ID, "prompt").text,
                             phone.find_element(By.ID, "left").text), key))
            _no_identity(phone.page_source)
            ActionChains(phone).send_keys(key).perform()
        _wait(phone, lambda d: d.find_element(By.ID, "done").is_displayed(), "the end")
        assert phone.find_element(By.ID, "done-progress").text == "4 of 4 rated"
        received = _received_urls(phone)
        time.sleep(0.2)
    with read_session(sqlite_engine) as s:
        rows = s.scalars(select(Assignment).where(Assignment.rater == "rater-ann")).all()
        shown = {(a.pair.prompt, a.pair.reference if a.reference_left else a.pair.answer): (
            a.reference_left, a.verdict) for a in rows}
    assert len(rows) == 4  # 3 pairs + the attention check
    for left, key in pressed:  # each key press stored for the side it was shown on
        reference_left, verdict = shown[left]
        assert verdict == VERDICT[(key, reference_left)]
    served = {path for path, *_ in app.seen}
    assert {made["rate_url"], "/static/rate.js", "/static/rate.css"} <= received
    assert any(p.endswith("/submit") for p in received)
    assert received <= served  # the server captured every response the page received
    assert any(p.startswith("/api/rate/") for p in served)
    for path, status, headers, body in app.seen:
        assert status in (200, 304) or path == "/favicon.ico", (path, status)
        _no_identity(headers.decode("latin-1") + body.decode("utf-8"), path)


def _held_key_rates(driver) -> bool:  # noqa: ANN001
    """Whether an auto-repeated keydown (a key held down) starts a rating: choose() disables
    the buttons at once, inside dispatchEvent, so this needs no waiting."""
    return driver.execute_script(
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: '2', repeat: true,"
        "  bubbles: true}));"
        "return document.getElementById('choose-right').disabled;")


def _no_identity(text: str, where: str = "the page") -> None:
    low = text.lower()
    for word in FORBIDDEN:
        assert word.lower() not in low, f"{word!r} in {where}"


def _received_urls(driver) -> set[str]:  # noqa: ANN001
    """The paths of everything the page loaded or fetched (the browser's Performance API:
    the navigation and every resource entry, fetch() calls included)."""
    from urllib.parse import urlsplit

    urls = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).map(e => e.name);")
    return {urlsplit(url).path for url in urls if url.startswith("http")}


def test_a_pair_gone_while_shown_moves_the_rater_on(phone, sqlite_engine, tmp_path):
    """The rater's hold expires and the pair goes to another rater while it is on their
    screen: the rating is refused (404), and the page says so and moves on instead of
    leaving the rater pressing keys on a pair that is no longer theirs."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from leaderboard.db import write_session
    from leaderboard.models import utcnow
    from leaderboard.study import assign

    made = make_study(sqlite_engine, tmp_path, prompts=2, raters=1)
    code = made["rate_url"].rsplit("/", 1)[1]
    token = create_token(sqlite_engine, "rater-ann", ["rate"])[1]
    settings = Settings(db=str(sqlite_engine.url), requests_per_minute=10_000)
    with ServerThread(create_app(settings, sqlite_engine)) as srv:
        phone.get(srv.url + made["rate_url"])
        _wait(phone, lambda d: d.find_element(By.ID, "token").is_displayed(), "token form")
        phone.switch_to.active_element.send_keys(token + Keys.ENTER)
        _wait(phone, lambda d: d.find_element(By.ID, "task").is_displayed(), "the first pair")
        assign.next_pair(sqlite_engine, code, "bob")  # bob takes the other pair
        with write_session(sqlite_engine) as s:  # ann's hold expires; cy is given her pair
            s.execute(update(Assignment).where(Assignment.rater == "rater-ann")
                      .values(created_at=utcnow() - timedelta(hours=2)))
        assert not assign.next_pair(sqlite_engine, code, "cy")["finished"]
        ActionChains(phone).send_keys("1").perform()
        _wait(phone, lambda d: d.find_element(By.ID, "done").is_displayed(), "moved on")
        assert "expired" in phone.find_element(By.ID, "error").text
