"""Headless Chromium (Debian's chromium and chromium-driver) driven by Selenium, for the
console's tests; a failing test leaves a screenshot in `artifacts/browser/`."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(
    os.environ.get("BROWSER_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts/browser")
)
DESKTOP = (1400, 900)
T = TypeVar("T")


def chromium() -> WebDriver:
    """A headless Chromium; skipped where it is not installed (a failure in CI)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.access(path, os.X_OK) or shutil.which(path)):
            reason = f"{path} not installed (apt-get install chromium chromium-driver)"
            if os.environ.get("LEADFLOW_REQUIRE_SERVICES") == "1":
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # never let Selenium Manager download one
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=pt-BR",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(service=service, options=options)


def save_screenshot(driver: WebDriver, test_name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{test_name.replace('/', '_')}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for(check: Callable[[], T | None], timeout: float = 10.0, what: str = "") -> T:
    """`check()`'s first truthy result within the deadline (page elements come and go
    as the page re-renders, so a stale one just means "look again")."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except (StaleElementReferenceException, WebDriverException) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or check} (last: {last!r})")
        time.sleep(0.05)
