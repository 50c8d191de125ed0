"""The web console end to end, in headless Chromium (Debian's, never a downloaded one).

sign in → run a script with parameters → live output → result table → re-run → edit &
re-run (a secret typed again) → cancel a long script → find it in History by filter → sort
History on the server across pages → choose a time zone → switch language. Each page's
screenshot is written to tests/e2e/artifacts/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.system.harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ProcessStack,
    Server,
    start_serve,
    write_scripts,
)

from .scripts import SCRIPTS

# A script with a secret parameter: it says how long the secret is, never what it is.
DEPLOY = """\
import json
import os

PARAMETERS = {
    "host": {"type": "string", "required": True},
    "token": {"type": "string", "secret": True, "required": True},
}

params = json.loads(os.environ.get("SCRIPT_PARAMETERS") or "{}")
print(f"host={params['host']} token={len(params['token'])} chars", flush=True)
"""

# The bundled argparse example, run as it is: its form is read from its parser.
CHECK_PORT = Path(__file__).resolve().parents[2] / "examples" / "scripts" / "check_port.py"

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
BUILT = Path(__file__).resolve().parents[2] / "src/scriptdeck/console/static/console/index.html"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000


def _requirements() -> Any:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make e2e-deps` (Debian's chromium package)")
    if not BUILT.exists():
        pytest.fail(f"the console is not built ({BUILT} is missing): run `make install`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: run `make install`")
    return sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    sync_playwright = _requirements()  # noqa: F841  (fail before starting anything)
    base = tmp_path_factory.mktemp("e2e")
    scripts = base / "scripts"
    (scripts / "ops").mkdir(parents=True)
    write_scripts(
        scripts, {**SCRIPTS, "deploy.py": DEPLOY, "check_port.py": CHECK_PORT.read_text()}
    )
    stack = ProcessStack(base)
    try:
        yield start_serve(stack, scripts)
    finally:
        stack.close()


@pytest.fixture(scope="module")
def page(server: Server) -> Iterator[Any]:
    sync_playwright = _requirements()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(
            base_url=f"http://127.0.0.1:{server.port}",
            locale="en-US",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1440, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        tab.problems = []  # console errors (a CSP violation, an exception) fail the test
        tab.on("console", lambda m: tab.problems.append(m.text) if _unexpected(m) else None)
        tab.on("pageerror", lambda e: tab.problems.append(str(e)))
        yield tab
        context.close()
        browser.close()


def _unexpected(message: Any) -> bool:
    """A console error, except the 400 of the wrong password the sign-in test sends."""
    return message.type == "error" and "status of 400" not in message.text


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def shot(page: Any, name: str) -> None:
    page.wait_for_timeout(300)  # charts and transitions settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def execution_id(page: Any) -> int:
    page.wait_for_url(re.compile(r"/executions/\d+$"))
    return int(page.url.rstrip("/").rsplit("/", 1)[-1])


def wait_status(page: Any, status: str, timeout: int = 60_000) -> None:
    page.locator(f'[data-test="execution-status"][data-status="{status}"]').wait_for(
        timeout=timeout
    )


def test_sign_in_keeps_next_and_lists_the_scripts(page: Any):
    page.goto("/history?status=SUCCESS")
    page.wait_for_url(re.compile(r"/login\?next="))
    shot(page, "01-login")
    page.fill("#username", ADMIN_USER)
    page.fill("#password", "wrong-password")
    page.click('[data-test="login-submit"]')
    page.get_by_role("alert").wait_for()
    page.fill("#password", ADMIN_PASSWORD)
    page.click('[data-test="login-submit"]')
    page.wait_for_url(re.compile(r"/history\?status=SUCCESS$"))
    page.click('[data-test="nav-scripts"]')
    page.get_by_text("ops/long_task").wait_for()
    page.get_by_text("report", exact=True).wait_for()
    shot(page, "02-catalogue")
    page.get_by_role("treeitem").filter(has_text="ops").click()
    page.wait_for_url(re.compile(r"folder=ops"))
    assert page.get_by_text("report", exact=True).count() == 0


def test_run_form_validates_then_runs_with_live_output_and_a_result_table(page: Any):
    page.goto("/scripts")
    page.click('[data-test="run-report"]')
    page.locator('[data-param="rows"]').wait_for()
    assert page.locator('[data-param="mode"]').get_attribute("data-kind") == "select"
    assert page.locator('[data-param="verbose"]').get_attribute("data-kind") == "boolean"
    page.click('[data-test="run-submit"]')  # the label is required
    page.locator('[data-param="label"]').get_by_text("this field is required").wait_for()
    page.fill("#param-label", "Not Lower")
    page.click('[data-test="run-submit"]')
    page.locator('[data-param="label"]').get_by_text("does not match the pattern").wait_for()
    page.fill("#param-label", "alpha")
    page.fill("#param-rows", "6")
    page.fill("#page-context", "e2e-page")
    shot(page, "03-run-form")
    page.click('[data-test="run-submit"]')
    execution_id(page)
    # live output arrives while it runs (six lines 0.4 s apart)
    page.locator('[data-test="console"]').get_by_text("row 1").wait_for()
    assert page.locator('[data-test="live-state"]').inner_text() in ("live", "ended")
    wait_status(page, "SUCCESS")
    page.locator('[data-stream="stderr"]').get_by_text("a warning on stderr").wait_for()
    table = page.locator('[data-test="result-table"]')
    table.wait_for()
    assert table.locator("tbody tr").count() == 6
    assert "alpha" in table.inner_text()
    page.locator('[data-test="result-download"]').wait_for()
    page.locator('[data-test="artifacts"]').get_by_text("report.csv").wait_for()
    shot(page, "04-execution-success")


def test_rerun_starts_a_new_execution_with_the_same_parameters(page: Any):
    first = execution_id(page)
    page.click('[data-test="rerun"]')
    page.wait_for_url(re.compile(rf"/executions/(?!{first}$)\d+$"))
    wait_status(page, "SUCCESS")
    assert page.locator('[data-test="result-table"] tbody tr').count() == 6


def test_edit_and_rerun_fills_the_form_and_asks_for_the_secret_again(page: Any, server: Server):
    page.goto("/scripts?q=deploy")
    page.click('[data-test="run-deploy"]')
    page.fill("#param-host", "alpha")
    page.fill("#param-token", "s3cret")
    page.fill("#page-context", "e2e-deploy")
    page.click('[data-test="run-submit"]')
    first = execution_id(page)
    wait_status(page, "SUCCESS")
    page.locator('[data-test="console"]').get_by_text("host=alpha token=6 chars").wait_for()

    page.click('[data-test="edit-rerun"]')
    page.wait_for_url(re.compile(rf"/scripts/\d+/run\?from={first}$"))
    expect(page.locator('[data-test="run-from"]')).to_contain_text(f"#{first}")
    expect(page.locator("#param-host")).to_have_value("alpha")
    expect(page.locator("#param-token")).to_have_value("")  # never the mask
    expect(page.locator('[data-test="note-token"]')).to_contain_text("type it again")
    expect(page.locator("#page-context")).to_have_value("e2e-deploy")
    shot(page, "04b-edit-rerun")
    page.fill("#param-host", "beta")
    page.click('[data-test="run-submit"]')  # the secret is required: typed again or refused
    page.locator('[data-param="token"]').get_by_text("this field is required").wait_for()
    page.fill("#param-token", "another-secret")
    page.click('[data-test="run-submit"]')
    page.wait_for_url(re.compile(rf"/executions/(?!{first}$)\d+$"))
    edited = execution_id(page)
    wait_status(page, "SUCCESS")
    page.locator('[data-test="console"]').get_by_text("host=beta token=14 chars").wait_for()
    record = server.api.get(f"/api/executions/{edited}/").json()
    assert record["parameters"] == {"host": "beta", "token": "••••"}
    assert record["page_context"] == "e2e-deploy"

    # the plain re-run of the first keeps its stored secret
    page.goto(f"/executions/{first}")
    page.click('[data-test="rerun"]')
    page.wait_for_url(re.compile(rf"/executions/(?!{first}$)\d+$"))
    wait_status(page, "SUCCESS")
    page.locator('[data-test="console"]').get_by_text("host=alpha token=6 chars").wait_for()


def test_output_still_arrives_by_polling_when_event_streams_are_blocked(page: Any):
    page.route("**/events/**", lambda route: route.abort())
    try:
        page.goto("/scripts")
        page.click('[data-test="run-report"]')
        page.fill("#param-label", "polled")
        page.fill("#param-rows", "20")  # 8 s: the stream is given up on while it runs
        page.click('[data-test="run-submit"]')
        execution_id(page)
        page.locator('[data-test="live-state"]', has_text="polling").wait_for()
        page.locator('[data-test="console"]').get_by_text("row 20 of 20: polled").wait_for()
        wait_status(page, "SUCCESS")
        assert page.locator('[data-test="result-table"] tbody tr').count() == 20
    finally:
        page.unroute("**/events/**")
        # the streams this test blocked are logged as failed loads
        page.problems[:] = [p for p in page.problems if "net::ERR_FAILED" not in p]


def test_a_long_script_is_cancelled_and_found_in_history_by_filter(page: Any):
    page.goto("/scripts?q=long")
    page.click('[data-test="run-ops/long_task"]')
    page.click('[data-test="run-submit"]')
    cancelled = execution_id(page)
    page.locator('[data-test="console"]').get_by_text("tick 3", exact=True).wait_for()
    shot(page, "05-execution-running")
    page.click('[data-test="cancel"]')
    page.get_by_role("dialog").get_by_role("button", name="OK").click()
    wait_status(page, "CANCELLED")
    shot(page, "06-execution-cancelled")

    page.click('[data-test="nav-history"]')
    page.locator('[data-test="history"]').wait_for()
    page.click('[data-test="filter-status"]')
    page.get_by_role("option", name="Cancelled").click()
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"status=CANCELLED"))
    rows = page.locator('[data-test="history"] tbody tr')
    expect(rows).to_have_count(1)  # the filtered list replaces the full one
    page.locator(f'[data-test="history-row-{cancelled}"]').wait_for()
    shot(page, "07-history")


def history_ids(page: Any) -> Any:
    return page.locator('[data-test="history"] [data-test^="history-row-"]')


def test_history_is_sorted_by_the_server_across_pages(page: Any, server: Server):
    page.goto("/history?page_size=2")
    expect(history_ids(page)).to_have_count(2)
    page.locator('[data-test="history"] th', has_text="Duration").click()
    page.wait_for_url(re.compile(r"sort=-execution_time"))
    assert "page_size=2" in page.url  # the sort joins the other query parameters
    listed = server.api.get(
        "/api/executions/", params={"ordering": "-execution_time", "page_size": 100}
    ).json()["results"]
    longest = [f"#{e['id']}" for e in listed]
    assert len(longest) >= 4
    expect(history_ids(page)).to_have_text(longest[:2])
    page.locator(".pager .el-pager li", has_text=re.compile(r"^2$")).click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(history_ids(page)).to_have_text(longest[2:4])  # page 2 goes on from page 1
    shot(page, "07b-history-sorted")
    page.locator('[data-test="history"] th button', has_text="Duration").focus()
    page.keyboard.press("Enter")  # headers are buttons: sorting works from the keyboard
    page.wait_for_url(re.compile(r"sort=execution_time"))
    expect(history_ids(page)).to_have_text(longest[::-1][:2])


def test_results_and_overview_pages(page: Any, server: Server):
    page.goto("/results?page_context=e2e-page")
    page.locator('[data-test="results"] tbody tr').first.wait_for()
    assert page.locator('[data-test="results"] tbody tr').count() == 2
    shot(page, "08-results")
    # a run of the page that is going on when the page opens: its record shows when it ends
    running = server.api.submit("report", {"label": "later", "rows": 8}, page_context="e2e-live")
    page.goto("/results?page_context=e2e-live")
    page.get_by_text("No result records").wait_for()
    page.locator(f'a[href="/executions/{running["id"]}"]').wait_for(timeout=60_000)
    page.goto("/overview")
    page.locator('[data-test="runs-per-day"] canvas').wait_for()
    shot(page, "09-overview")


def test_tokens_are_created_once_and_revoked(page: Any):
    page.click('[data-test="user-menu"]')
    page.click('[data-test="menu-tokens"]')
    page.fill('input[data-test="token-name"]', "e2e token")
    page.click('[data-test="token-create"]')
    key = page.locator('[data-test="token-key"]').inner_text()
    assert len(key) > 20
    shot(page, "10-tokens")
    page.keyboard.press("Escape")


def test_an_argparse_script_gets_a_form_that_reaches_its_own_parser(page: Any):
    page.goto("/scripts?q=check_port")
    page.click('[data-test="run-check_port"]')
    field = lambda name: page.locator(f'[data-param="{name}"]')  # noqa: E731
    field("host").wait_for()
    expect(page.locator('[data-test="schema-origin"]')).to_contain_text("Form read from argparse")
    # a flag is a switch, choices a select, a repeated option a list of values
    assert field("dry_run").get_attribute("data-kind") == "boolean"
    expect(field("dry_run").locator(".el-switch")).to_have_count(1)
    assert field("family").get_attribute("data-kind") == "select"
    assert field("tag").get_attribute("data-kind") == "list"
    expect(field("host")).to_contain_text("host name or address to connect to")
    expect(page.locator('[data-test="cli-dry_run"]')).to_have_text("--dry-run (flag)")
    expect(page.locator('[data-test="cli-tag"]')).to_have_text("--tag TAG (repeatable)")
    line = page.locator('[data-test="command-line"] code')
    expect(line).to_have_text("check_port.py --host <host> --port 22 --timeout 3 --family any")

    page.fill("#param-host", "db.example.invalid")
    page.fill("#param-port", "2222")
    page.locator("#param-port").blur()
    field("family").locator(".el-select__wrapper").click()
    page.get_by_role("option", name="ipv4", exact=True).click()
    field("tag").locator(".el-select__wrapper").click()
    for tag in ("web", "two words"):
        page.keyboard.type(tag)
        page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.fill("#param-verbose", "2")
    page.locator("#param-verbose").blur()
    field("dry_run").locator(".el-switch").click()
    argv = [
        "--host", "db.example.invalid", "--port", "2222", "--timeout", "3", "--family", "ipv4",
        "--tag", "web", "--tag", "two words", "--verbose", "--verbose", "--dry-run",
    ]  # fmt: skip
    shown = " ".join(f"'{a}'" if " " in a else a for a in argv)
    expect(line).to_have_text(f"check_port.py {shown}")
    shot(page, "12-argparse-form")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "12b-argparse-form-narrow")
    page.set_viewport_size({"width": 1440, "height": 900})

    page.click('[data-test="run-submit"]')
    execution_id(page)
    wait_status(page, "SUCCESS")
    # the script prints the arguments its own parser was given
    printed = "argv: " + json.dumps(argv)
    page.locator('[data-test="console"]').get_by_text(printed, exact=True).wait_for()
    page.locator('[data-test="console"]').get_by_text(
        "would check db.example.invalid:2222 (ipv4, timeout 3s) [web, two words]"
    ).wait_for()
    shot(page, "13-argparse-execution")


def choose_time_zone(page: Any, typed: str) -> None:
    """Pick a zone as a keyboard user does: type to filter the list, Enter takes the first.

    (A mouse click on an option just after typing missed it now and then on a loaded
    machine, the list still settling after the filter; keys are handled in order.)
    """
    page.click('[data-test="user-menu"]')
    page.click('[data-test="menu-time-zone"]')
    page.click('[data-test="time-zone"]')
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Time zone")
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()


def test_dates_follow_the_time_zone_chosen_in_the_user_menu(page: Any):
    shown = page.locator('[data-test="time-zone-shown"]')
    page.goto("/history?sort=id&page_size=10")
    expect(shown).to_have_text("Time zone: Asia/Shanghai")  # the browser's, by default
    created = page.locator('[data-test="history"] tbody tr').first.locator("td").nth(5)
    stamp = "%m/%d/%Y, %H:%M:%S"
    in_shanghai = datetime.strptime(created.inner_text().strip(), stamp)
    choose_time_zone(page, "UTC")
    expect(shown).to_have_text("Time zone: UTC")
    expect(created).not_to_have_text(in_shanghai.strftime(stamp))
    in_utc = datetime.strptime(created.inner_text().strip(), stamp)
    assert in_shanghai - in_utc == timedelta(hours=8)
    shot(page, "10b-time-zone")
    page.reload()  # kept in this browser
    expect(shown).to_have_text("Time zone: UTC")
    with page.expect_request(lambda r: "/api/stats/overview/" in r.url and "tz=UTC" in r.url):
        page.goto("/overview")
    page.locator('[data-test="runs-per-day"] canvas').wait_for()
    choose_time_zone(page, "browser")  # "The browser's (Asia/Shanghai)"
    expect(shown).to_have_text("Time zone: Asia/Shanghai")
    assert page.evaluate("localStorage.getItem('scriptdeck.timeZone')") is None


def test_switching_to_chinese(page: Any):
    page.goto("/scripts")
    page.click('[data-test="language"]')
    page.get_by_role("option", name="简体中文").click()
    page.locator('[data-test="nav-scripts"]').get_by_text("脚本").wait_for()
    page.get_by_text("执行历史").first.wait_for()
    shot(page, "11-catalogue-zh")
    page.reload()
    page.locator('[data-test="nav-history"]').get_by_text("执行历史").wait_for()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"


def test_the_page_is_never_cached_and_its_hashed_assets_always(server: Server):
    import httpx

    base = f"http://127.0.0.1:{server.port}"
    page = httpx.get(f"{base}/executions/1")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="(/static/console/assets/[^"]+)"', page.text)
    assert assets, page.text
    for asset in assets:
        answer = httpx.get(f"{base}{asset}")
        assert answer.status_code == 200, asset
        assert "immutable" in answer.headers["cache-control"], asset
        assert "max-age=315360000" in answer.headers["cache-control"], asset


def test_no_console_errors(page: Any):
    assert page.problems == [], page.problems
