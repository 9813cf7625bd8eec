"""The built playground (dist/playground/, `make playground`) in headless Debian Chromium.

The page is loaded from a local static server, given the configuration and conversation an e2e
test sends through Envoy, and must show the decisions that test asserts. A broken configuration
must show the path the filter reports. Screenshots of the main views go to
target/playground-screenshots/ (CI artefacts).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "dist" / "playground"
SHOTS = ROOT / "target" / "playground-screenshots"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site():
    assert (SITE / "warden_playground_bg.wasm").is_file(), "build it first: make playground"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(SITE)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="warden-chromium-")
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1500,1900",
    ]:
        options.add_argument(flag)
    # The system driver: Selenium Manager would otherwise try to download one.
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, site):
    browser.get(site)
    # The module (the filter with its tokenizer tables) loads, then the first example is shown.
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")


def runs(browser):
    return int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-runs") or 0)


def pick(browser, name_start):
    before = runs(browser)
    select = Select(browser.find_element(By.ID, "example"))
    option = next(o for o in select.options if o.text.startswith(name_start))
    if select.first_selected_option.text == option.text:
        return  # shown already (the page opens on the first example)
    select.select_by_visible_text(option.text)
    WebDriverWait(browser, 30).until(lambda d: runs(d) > before)


def text(browser, css):
    return browser.find_element(By.CSS_SELECTOR, css).text


def shot(browser, name):
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def test_send_email_after_an_untrusted_web_fetch_is_refused_as_in_the_e2e_test(browser, site):
    # tests/tests/trust_policies.rs an_untrusted_tool_result_blocks_tools_that_need_trust: the same
    # config (tests/policy-config.json, profile secure), history and answer, in OpenAI chat.
    open_page(browser, site)
    pick(browser, "e2e: send_email")
    result = browser.find_element(By.CSS_SELECTOR, "tr.result")
    assert result.get_attribute("data-tool") == "web_fetch"
    assert result.get_attribute("data-decision") == "mark_as_untrusted"
    assert result.get_attribute("data-row") == ""  # no row matched: the profile default decided
    assert text(browser, "#context") == "untrusted"
    call = browser.find_element(By.CSS_SELECTOR, 'tr.call[data-name="send_email"]')
    assert call.get_attribute("data-allowed") == "false"
    assert "send_email" in text(browser, "#blocked-tools")
    client = text(browser, "#client-body")
    assert "attacker@evil.example" in client and "send_email" in client
    shot(browser, "trust-and-tool-calls")


def test_read_file_on_etc_is_refused_by_the_row_the_e2e_test_names(browser, site):
    # tests/tests/tool_policies.rs a_blocked_call_becomes_a_refusal_in_every_api_and_chunk_size.
    open_page(browser, site)
    pick(browser, "e2e: read_file")
    assert text(browser, "#context") == "trusted"
    call = browser.find_element(By.CSS_SELECTOR, 'tr.call[data-name="read_file"]')
    assert call.get_attribute("data-allowed") == "false"
    assert call.get_attribute("data-row") == "0"
    assert "system files are off limits" in call.text
    assert "system files are off limits" in text(browser, "#client-body")
    browser.execute_script("document.getElementById('refusal').scrollIntoView()")
    shot(browser, "refusal")


def test_a_recorded_exchange_shows_trust_toon_and_the_optimisation_rule(browser, site):
    open_page(browser, site)
    pick(browser, "recorded: Anthropic")
    result = browser.find_element(By.CSS_SELECTOR, "tr.result")
    assert (result.get_attribute("data-decision"), result.get_attribute("data-row")) == ("mark_as_trusted", "0")
    assert text(browser, "#optimisation-rule").startswith("rule 0 fired")
    assert text(browser, "#model") == "claude-3-5-haiku"
    assert text(browser, "#baseline-model") == "claude-haiku-4-5"
    before, after = (int(n) for n in text(browser, "#toon-tokens").removeprefix("tokens ").split(" → "))
    assert after < before, "TOON re-encodes the weather result in fewer tokens"
    browser.execute_script("document.getElementById('toon').scrollIntoView()")
    shot(browser, "toon-and-optimisation")


def test_a_broken_configuration_shows_its_path_as_you_type(browser, site):
    open_page(browser, site)
    pick(browser, "e2e: read_file")
    editor = browser.find_element(By.ID, "config")
    broken = editor.get_attribute("value").replace('"starts_with"', '"starts_wth"', 1)
    browser.execute_script("arguments[0].value = arguments[1]", editor, broken)
    before = runs(browser)
    editor.send_keys(" ")  # a keystroke: the page re-checks on input
    WebDriverWait(browser, 30).until(lambda d: runs(d) > before)
    assert "error" in browser.find_element(By.ID, "config-status").get_attribute("class")
    assert text(browser, "#config-status .path") == "profiles.secure.tool_policies[0].conditions[0].operator"
    assert "starts_wth" in text(browser, "#config-status .message")
    # The schema's help for that path lists what is allowed there.
    assert "starts_with" in text(browser, "#config-help")
    assert "configuration has errors" in text(browser, "#tool-calls")
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "config-error")


def test_a_conversation_loaded_from_files_is_judged_like_a_pasted_one(browser, site, tmp_path):
    open_page(browser, site)
    pick(browser, "e2e: read_file")
    inputs = {name: browser.find_element(By.ID, name).get_attribute("value") for name in ("config", "request", "response")}
    expected = text(browser, "#tool-calls")
    # Start from another example, then load the read_file one's inputs from files.
    pick(browser, "e2e: send_email")
    assert text(browser, "#tool-calls") != expected
    for name, value in inputs.items():
        (tmp_path / f"{name}.json").write_text(value)
        before = runs(browser)
        browser.find_element(By.ID, f"{name}-file").send_keys(str(tmp_path / f"{name}.json"))
        WebDriverWait(browser, 30).until(lambda d: runs(d) > before)
        assert browser.find_element(By.ID, name).get_attribute("value") == value
    assert text(browser, "#tool-calls") == expected
