"""Browsers for the e2e tests: headless Chromium (Debian's, driven through its ChromeDriver
by Selenium), and a page object whose waits fail with what the page showed. Screenshots go
to .local/test/screenshots/."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from local.services import ROOT
from tests.e2e.media import wait_until

SHOTS = ROOT / ".local" / "test" / "screenshots"


def chromium(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


class Page:
    """One browser on the app, with waits that fail with what the page showed."""

    def __init__(self, driver, base: str) -> None:
        self.driver, self.base = driver, base

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, test: str, timeout: float = 15, *, selector: str | None = None):
        selector = selector or f'[data-test="{test}"]'
        found = wait_until(lambda: self.driver.find_elements(By.CSS_SELECTOR, selector),
                           timeout=timeout, interval=0.2)
        assert found, f"no {selector} on {self.driver.current_url}: {self.text()[:500]}"
        return found[0]

    def text_of(self, test: str, expected: str, timeout: float = 20, *, exact: bool = False) -> str:
        """Wait until the element's text contains `expected` (or is it, `exact`)."""
        def shows(text: str) -> bool:
            return text == expected if exact else expected in text

        seen = wait_until(lambda: (lambda t: t if shows(t) else None)(self.find(test).text),
                          timeout=timeout, interval=0.3)
        assert seen, f"{test} never showed {expected!r}: {self.find(test).text!r}"
        return seen

    def playback(self) -> str:
        """What the video element and the browser's log say, for a failed assertion."""
        state = self.driver.execute_script(
            "const v = document.querySelector('video');"
            "return v && [v.readyState, v.networkState, v.error && v.error.message, v.currentSrc];")
        return f"video {state}; log {self.driver.get_log('browser')}"

    def fill(self, field: str, value: str) -> None:
        element = self.find(field, selector=f"#{field}")
        element.clear()
        element.send_keys(value)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert self.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def register(page: Page, username: str) -> None:
    page.go("/register")
    page.fill("username", username)
    page.fill("email", f"{username}@example.com")
    page.fill("display_name", username.replace("_", " ").title())
    page.fill("password", "correct horse battery")
    page.find("submit").click()
    wait_until(lambda: "/register" not in page.driver.current_url, timeout=15)
