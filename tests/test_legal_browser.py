"""法制科 in headless Chromium: a case's recordings linked by the camera's file name, the
export stopped until 证明对象 is entered or its absence confirmed, and 证明对象 entered for
every recording of the list at once (one box ticks them all). Screenshotted at 1366×768 in
both languages and checked with axe-core."""

from __future__ import annotations

import pytest

from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import served, shot, sign_in

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_legal_links_a_case_and_enters_proves_for_all_at_once(recorded, language):
    from playwright.sync_api import sync_playwright

    app, ids = recorded
    zh = language == "zh-CN"
    problems = []
    with served(app, language) as base:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1366, "height": 768}, locale=language).new_page()
            sign_in(page, base, "L1")
            page.goto(f"{base}/cases")
            page.fill("input[name=case_no]", "案-9")
            page.locator("form[action='/cases'] button[type=submit]").click()
            page.wait_for_url(f"{base}/cases/%E6%A1%88-9")
            page.fill("textarea[name=recordings]", "CAM-1 20261120_083000.mp4\nCAM-2 20261120_083000.mp4")
            page.locator("form[action$='/recordings'] button[type=submit]").click()
            page.wait_for_load_state()
            assert page.locator("main table").nth(1).locator("a[href^='/recordings/']").count() == 2
            assert ("本案有 2 个记录未填写证明对象" if zh else "2 recording(s) of this case have no 证明对象") \
                in page.inner_text("main")
            problems += shot(page, f"legal-case-{language}", full=True)

            page.goto(f"{base}/recordings?case_no=%E6%A1%88-9")
            page.check("#pick-all")
            assert page.inner_text("#picked-count") == "2"
            page.fill("#bulk input[name=proves]", "当事人占道经营的事实")
            problems += shot(page, f"legal-recordings-bulk-{language}", full=True)
            page.locator("#bulk button[type=submit]").click()
            page.wait_for_selector(".notice")
            assert page.locator("td:has-text('当事人占道经营的事实')").count() == 2
            page.goto(f"{base}/cases/%E6%A1%88-9")
            assert "本案有" not in page.inner_text("main")
            browser.close()
    assert problems == [], problems
