"""The web app in headless Chromium (Debian's, driven through its ChromeDriver by Selenium)
against the running platform: a streamer and a viewer, each in a browser of their own, with
ffmpeg publishing a test pattern through real nginx-rtmp. Screenshots of every page go to
.local/test/screenshots/."""

from __future__ import annotations

import uuid

from selenium.webdriver.common.by import By

from tests.e2e.browser import Page, register
from tests.e2e.media import publish, stop, wait_until


def test_sign_up_go_live_watch_follow_and_see_the_viewer_on_the_dashboard(platform, browsers):
    base = platform.api_url
    streamer_name, viewer_name = f"web_{uuid.uuid4().hex[:6]}", f"fan_{uuid.uuid4().hex[:6]}"
    streamer = Page(browsers(), base)

    # Registering: an error from the API shows next to the field it concerns.
    streamer.go("/register")
    streamer.fill("username", streamer_name)
    streamer.fill("email", "not-an-email")
    streamer.fill("password", "correct horse battery")
    streamer.find("submit").click()
    assert streamer.find("error-email").text
    streamer.shot("register-error")
    register(streamer, streamer_name)
    assert streamer.driver.current_url.endswith("/dashboard")

    # The dashboard: a stream key (with the RTMP URL for OBS) and the stream's details.
    streamer.find("rotate-key").click()
    key = streamer.find("stream-key").text
    rtmp = streamer.find("rtmp-url").text
    assert key.startswith("live_") and rtmp == platform.ingest.rtmp_url
    assert streamer.find("rtmps-url").text == platform.ingest.rtmps_url
    title = f"Browser night {uuid.uuid4().hex[:4]}"
    streamer.fill("title", title)
    streamer.fill("tags", "chess, openings")
    streamer.find("save-stream").click()
    assert "Saved" in streamer.text_of("stream-form", "Saved")
    streamer.shot("dashboard")

    encoder = publish(f"{rtmp}/{key}")
    try:
        viewer = Page(browsers(), base)
        register(viewer, viewer_name)
        # Home lists the live stream with its title. (A full page load: the session survives
        # it through the HttpOnly cookie, and no script can read a token anywhere.)
        viewer.go("/")
        viewer.text_of("nav-me", viewer_name.replace("_", " ").title())
        storage = "return [localStorage.length, sessionStorage.length, document.cookie]"
        assert viewer.driver.execute_script(storage) == [0, 0, ""]
        viewer.text_of("live-streams", title, timeout=30)
        viewer.shot("home")

        # The stream page plays it: the video element's time advances.
        card = viewer.driver.find_element(
            By.XPATH, f'//a[@data-test="stream-card"][.//*[contains(., "{title}")]]')
        card.click()
        viewer.find("player")
        position = "return document.querySelector('video').currentTime"
        started = wait_until(lambda: viewer.driver.execute_script(position) > 0.5, timeout=30, interval=0.5)
        assert started, f"the player never started playing: {viewer.playback()}"
        first = viewer.driver.execute_script(position)
        assert wait_until(lambda: viewer.driver.execute_script(position) > first + 1.5, timeout=15)
        assert viewer.find("title").text == title
        viewer.shot("stream")

        # Follow: the button and the count change.
        viewer.text_of("followers", "0 followers")
        viewer.find("follow").click()
        viewer.text_of("follow", "Following")
        viewer.text_of("followers", "1 follower", exact=True)

        # The streamer's dashboard shows the viewer (record-view join from the player page).
        streamer.text_of("dashboard-viewers", "1", timeout=30, exact=True)
        streamer.find("viewer-chart")
        streamer.shot("dashboard-live")

        # The channel page: profile, follower count, the stream. Leaving the stream page
        # tells record-view, and the dashboard's count falls back to 0.
        viewer.go(f"/channel/{streamer_name}")
        viewer.text_of("followers-count", "1 follower", exact=True)
        viewer.text_of("channel-streams", title)
        viewer.shot("channel")
        streamer.text_of("dashboard-viewers", "0", timeout=15, exact=True)
    finally:
        stop(encoder)

    # The broadcast over, the dashboard lists it among past streams with its analytics.
    streamer.text_of("past-streams", title, timeout=30)
    streamer.shot("dashboard-past")

    # The next time the channel goes live, its new follower's inbox says so; opening the
    # notification goes to the stream and leaves nothing unread.
    encoder = publish(f"{rtmp}/{key}")
    try:
        def unread() -> str | None:
            viewer.go("/")  # the inbox loads with the page
            button = viewer.find("notifications")
            count = wait_until(lambda: button.get_attribute("data-unread"), timeout=10, interval=0.2)
            return count if count != "0" else None

        assert wait_until(unread, timeout=30, interval=0.5) == "1"
        viewer.text_of("unread", "1", exact=True)
        viewer.find("notifications").click()
        viewer.text_of("inbox", "went live")
        viewer.shot("notifications")
        viewer.find("notification").click()
        wait_until(lambda: "/streams/" in viewer.driver.current_url, timeout=10)
        viewer.find("player")
        assert not viewer.driver.find_elements(By.CSS_SELECTOR, '[data-test="unread"]')
    finally:
        stop(encoder)

    # Logging out ends the session for good: a reload does not sign back in.
    streamer.find("logout").click()
    streamer.find("nav-login")
    streamer.go("/")
    streamer.find("nav-login")

    # Logging in: a wrong password is said under the form; the right one signs in.
    streamer.go("/login")
    streamer.fill("username", streamer_name)
    streamer.fill("password", "wrong password!")
    streamer.find("submit").click()
    assert "password" in streamer.find("error").text.lower()
    streamer.shot("login-error")
    streamer.fill("password", "correct horse battery")
    streamer.find("submit").click()
    streamer.text_of("nav-me", streamer_name.replace("_", " ").title())
    streamer.shot("home-signed-in")


def test_the_api_clients_types_are_generated_from_the_served_document(platform, tmp_path):
    """schema.ts is what openapi-typescript makes of the document the gateway serves, so the
    app is compiled against the API as it is (web/openapi.json itself is pinned to the
    catalog by a unit test)."""
    import json

    from local.web import SCHEMA, WEB, typescript_schema
    from tests.e2e.conftest import http

    served = http("GET", f"{platform.api_url}/api/openapi.json").json()
    assert served == json.loads((WEB / "openapi.json").read_text())
    fresh = tmp_path / "schema.ts"
    typescript_schema(fresh)
    assert fresh.read_text() == SCHEMA.read_text(), "schema.ts is stale: run python -m local.web --api"
