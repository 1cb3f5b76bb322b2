"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver).

A load runs in a background thread while the browser watches it: the runs page's figures
move without a reload, the run page shows failed items as they are recorded, pages and
searches them, and strings holding markup (a description, item ids) render as text.
``GRAPH_CKPT_SCREENSHOTS=1`` saves the screenshots into docs/images/ for docs/dashboard.md.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

pytest.importorskip("starlette", reason="the [dashboard] extra is not installed")
webdriver = pytest.importorskip("selenium.webdriver")

from _dashboard import serve  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from graph_checkpoint import CheckpointManager, RunStatus, checkpoint_loader  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ITEMS = 1_200
FAIL_EVERY = 20
"""Every 20th item fails: 60 failed items, three pages of them."""
XSS_DESCRIPTION = "<script>window.__xss = 1</script> nightly people"


def item_id(index: int) -> str:
    # The failing ids hold markup: the page must show it, not run it.
    if index % FAIL_EVERY == 0:
        return f"<img src=x onerror=window.__xss=1>-{index:04}"
    return f"person-{index:04}"


@checkpoint_loader("people", batch_size=40, item_id="id", progress=False)
def load_people(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["id"].startswith("<img"):
            raise ValueError(f"row {row['id']} has no name")
    tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows).consume()
    time.sleep(0.1)  # a load slow enough to be watched


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMEDRIVER).is_file(), "chromium-driver is missing: run scripts/test"
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(10)
    yield driver
    driver.quit()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # the element is not there yet, or was just re-rendered
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def screenshot(browser: Any, name: str, tmp_path: Path) -> None:
    folder = ROOT / "docs" / "images" if os.environ.get("GRAPH_CKPT_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(folder / name))


@pytest.fixture
def background_load(manager: CheckpointManager) -> Iterator[tuple[str, threading.Thread]]:
    """A run loading ITEMS people in a thread; yields its id once it is open."""
    opened = threading.Event()
    holder: dict[str, Any] = {}

    def load() -> None:
        with manager.run(description=XSS_DESCRIPTION, config={"source": "people.csv"}) as run:
            holder["run_id"] = run.run_id
            opened.set()
            load_people(run, [{"id": item_id(i)} for i in range(1, ITEMS + 1)])

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    assert opened.wait(60), "the load did not start"
    yield holder["run_id"], thread
    thread.join(timeout=300)


def test_the_pages_follow_a_load_live(
    browser: Any,
    manager: CheckpointManager,
    background_load: tuple[str, threading.Thread],
    tmp_path: Path,
) -> None:
    run_id, thread = background_load
    with serve(manager) as base:
        # The runs page: the run's figures move while the page stays the same page.
        browser.get(base + "/")
        row = f'tr[data-run-id="{run_id}"]'
        first = wait_for(
            lambda: browser.find_element(By.CSS_SELECTOR, f"{row} .processed").text,
            "the run on the runs page",
        )
        browser.execute_script("window.__samePage = 42")
        wait_for(
            lambda: browser.find_element(By.CSS_SELECTOR, f"{row} .processed").text != first,
            "processed to move on the runs page",
        )
        assert browser.execute_script("return window.__samePage") == 42, "the page reloaded"
        description = browser.find_element(By.CSS_SELECTOR, f"{row} .description").text
        assert description == XSS_DESCRIPTION
        assert browser.find_element(By.CSS_SELECTOR, f"{row} .status").text == "running"
        screenshot(browser, "dashboard-runs.png", tmp_path)

        # The run page: failed items appear with their errors as they are recorded.
        browser.get(f"{base}/runs/{run_id}")
        errors = wait_for(
            lambda: [
                e.text for e in browser.find_elements(By.CSS_SELECTOR, "#failures .error-text")
            ],
            "a failed item on the run page",
        )
        assert errors[0].startswith("ValueError: row <img src=x onerror=window.__xss=1>-")
        ids = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#failures .item-id")]
        assert all(i.startswith("<img src=x onerror=window.__xss=1>-") for i in ids), ids
        wait_for(
            lambda: (
                len(
                    browser.find_element(By.CSS_SELECTOR, "#chart polyline")
                    .get_attribute("points")
                    .split()
                )
                >= 4
            ),
            "a throughput line of a few points",
        )
        browser.set_window_size(1400, 1900)  # the whole page: processes and failures too
        screenshot(browser, "dashboard-run.png", tmp_path)
        browser.set_window_size(1400, 1000)

        thread.join(timeout=300)
        assert manager.get_run(run_id).status is RunStatus.COMPLETED_WITH_FAILURES
        wait_for(
            lambda: browser.find_element(By.ID, "failures-total").text == "60 in all",
            "all 60 failures counted",
        )

        # Paging and searching the failures.
        page1 = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#failures .item-id")]
        browser.find_element(By.ID, "next").click()
        wait_for(lambda: browser.find_element(By.ID, "page").text == "page 2", "page 2")
        page2 = wait_for(
            lambda: (
                [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#failures .item-id")]
                if browser.find_elements(By.CSS_SELECTOR, "#failures .item-id")[0].text not in page1
                else None
            ),
            "the second page of failures",
        )
        assert len(page1) == len(page2) == 25 and not set(page1) & set(page2)
        browser.find_element(By.ID, "q").send_keys("-0140")
        browser.find_element(By.CSS_SELECTOR, "#search button").click()
        found = wait_for(
            lambda: (
                [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#failures .item-id")]
                if browser.find_element(By.ID, "failures-total").text == "1 matching"
                else None
            ),
            "the search result",
        )
        assert found == ["<img src=x onerror=window.__xss=1>-0140"]
        assert browser.execute_script("return window.__xss") is None, "markup from the graph ran"
