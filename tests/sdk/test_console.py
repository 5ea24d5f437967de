"""The web console in a real browser: headless Chromium from Debian's packages, driven over
WebDriver by Selenium with Debian's chromedriver named explicitly (Selenium Manager is never
asked to download anything).

The test signs in with a key, creates and starts a copy migration from the form, watches the
detail page reach 100 %, and saves screenshots of the list, the graph and the detail page to
target/console-screenshots/ (CONSOLE_SCREENSHOTS overrides the directory).
"""

import json
import os
import pathlib
import shutil
import time
import urllib.request

import pytest
from conftest import API_KEY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = pathlib.Path(
    os.environ.get("CONSOLE_SCREENSHOTS")
    or pathlib.Path(__file__).resolve().parents[2] / "target" / "console-screenshots"
)

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but chromium/chromedriver are not installed")
    pytest.skip("chromium and chromium-driver are not installed", allow_module_level=True)

# Selenium Manager must never try to fetch a driver or a browser: both are named above.
os.environ.setdefault("SE_OFFLINE", "true")

# Imported after the check so a machine without the browser skips instead of failing.
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def call(base_url, method, path, body=None):
    """One JSON request with the test key, scoped to namespace `library`."""
    request = urllib.request.Request(
        base_url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "X-Namespace": "library",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def seed(base_url):
    """Namespace `library`: a bucket of three texts and a collection over it, indexed."""
    call(base_url, "POST", "/v1/namespaces", {"namespace_name": "library"})
    call(base_url, "POST", "/v1/buckets", {"bucket_name": "books", "bucket_schema": {
        "properties": {"content": {"type": "text"}}}})
    texts = ["Ships carry cargo across the sea.", "Bread rises because yeast makes gas.",
             "Owls hunt at night by sound."]
    call(base_url, "POST", "/v1/buckets/books/objects/batch", {"objects": [
        {"blobs": [{"property": "content", "type": "text", "data": t}]} for t in texts]})
    call(base_url, "POST", "/v1/collections", {
        "collection_name": "books_text",
        "source": {"type": "bucket", "bucket_ids": ["books"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}})
    task = call(base_url, "POST", "/v1/collections/books_text/trigger")["task_id"]
    for _ in range(600):
        status = call(base_url, "GET", f"/v1/tasks/{task}")["status"]
        if status.startswith("COMPLETED") or status == "FAILED":
            break
        time.sleep(0.1)
    assert status == "COMPLETED"


def test_console_creates_starts_and_watches_a_migration(ferry, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    seed(ferry.base_url)
    wait = WebDriverWait(browser, 60)

    browser.get(f"{ferry.base_url}/console")
    # A wrong key shows the API's own message.
    wait.until(EC.presence_of_element_located((By.ID, "api-key"))).send_keys("sk_wrong")
    browser.find_element(By.ID, "save-key").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "error"), "Invalid API key"))
    browser.find_element(By.ID, "api-key").send_keys(API_KEY)
    browser.find_element(By.ID, "save-key").click()
    wait.until(EC.presence_of_element_located((By.ID, "migrations")))
    assert browser.execute_script("return sessionStorage.getItem('ferry_api_key')") == API_KEY

    # Namespaces with their resources and counts.
    browser.find_element(By.ID, "nav-namespaces").click()
    row = wait.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "tr[data-namespace='library']")))
    assert "3 objects" in row.text and "3 documents" in row.text, row.text

    # The form: a validation error shows the API's message, naming the field.
    browser.get(f"{ferry.base_url}/console#/new")
    wait.until(EC.presence_of_element_located((By.ID, "new-migration")))
    Select(browser.find_element(By.ID, "f-source")).select_by_value("library")
    browser.find_element(By.ID, "f-batch").send_keys("5000")
    browser.find_element(By.ID, "validate").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "error"), "batch_size"))
    browser.find_element(By.ID, "f-batch").clear()
    browser.find_element(By.ID, "f-batch").send_keys("1")
    browser.find_element(By.ID, "f-target").send_keys("library_copy")

    # Validate draws the graph: tiers, arrows and execution order.
    browser.find_element(By.ID, "validate").click()
    graph = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#validation svg")))
    nodes = graph.find_elements(By.CSS_SELECTOR, "g.node")
    assert len(nodes) == 2
    assert "tier 0" in graph.text and "tier 1" in graph.text
    assert len(graph.find_elements(By.TAG_NAME, "path")) >= 2  # the arrow head and an edge
    assert browser.find_element(By.ID, "validation-result").text.startswith("Valid")
    browser.save_screenshot(str(SHOTS / "graph.png"))

    # Create and start; the detail page polls until 100 %.
    browser.find_element(By.ID, "f-start").click()  # off: create a draft, start it below
    browser.find_element(By.ID, "create").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "draft"))
    browser.find_element(By.ID, "start").click()
    WebDriverWait(browser, 120).until(
        EC.text_to_be_present_in_element((By.ID, "status"), "completed"))
    assert "100.0%" in browser.find_element(By.ID, "overall").text
    stages = browser.find_elements(By.CSS_SELECTOR, "tr.stage")
    assert len(stages) == 7
    assert all("100.0%" in s.text for s in stages), [s.text for s in stages]
    assert "ok" in browser.find_element(By.ID, "verification").text
    assert "Throughput" in browser.find_element(By.ID, "benchmark").text
    browser.set_window_size(1400, 2000)  # the whole detail page in one picture
    browser.save_screenshot(str(SHOTS / "detail.png"))
    browser.set_window_size(1400, 1000)

    # The list, filtered by status.
    browser.get(f"{ferry.base_url}/console#/migrations?status=completed")
    rows = wait.until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "tr.migration")))
    assert len(rows) == 1 and "completed" in rows[0].text
    browser.save_screenshot(str(SHOTS / "list.png"))

    # Delete from the detail page; the list is empty afterwards.
    rows[0].find_element(By.TAG_NAME, "a").click()
    wait.until(EC.element_to_be_clickable((By.ID, "delete"))).click()
    wait.until(EC.presence_of_element_located((By.ID, "migrations")))
    assert browser.find_elements(By.CSS_SELECTOR, "tr.migration") == []
