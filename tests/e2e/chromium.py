"""A real Chromium (Debian's chromium + chromium-driver) driven by Selenium, headless."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))


def start_chromium(downloads: Path | None = None) -> webdriver.Chrome:
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.exists():
            pytest.fail(f"no {binary}: install Debian's `{package}` (scripts/setup.sh --test)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1366,900", "--lang=en-US", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    prefs = {"intl.accept_languages": "en-US"} | ({"download.default_directory": str(downloads)} if downloads else {})
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(15)
    return driver


@pytest.fixture(scope="module")
def browser():
    """A Chromium for a test module (import the fixture where it is used)."""
    driver = start_chromium()
    yield driver
    driver.quit()
