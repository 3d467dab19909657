"""The issue's flow in headless Chromium against `imgpipe serve`: review with the keyboard, correct, undo,
upload through the page, the report against the database, and names that are markup shown as text.

The tests run in order on one data dir and one server (module scope), like a reviewer's session.
"""

from __future__ import annotations

import re
from collections import Counter

from tests.web.conftest import REVIEWER, THRESHOLD, XSS_NAME, imgpipe, jpeg, records, screenshot

SCRIPT_NAME = "<script>alert(1)</script>.jpg"


def queue_ids(page) -> list[str]:
    return page.locator("#review-queue li.review-item").evaluate_all("els => els.map(e => e.dataset.uploadId)")


def test_review_shows_what_waits_with_images_and_the_models_labels(server, data_dir, page):
    page.goto(f"{server.url}/review")
    waiting = {uid for uid, r in records(data_dir).items() if r["status"] == "needs_review"}
    assert len(waiting) >= 3, "the threshold should leave several sample photos for review"
    assert set(queue_ids(page)) == waiting
    first = page.locator("#review-queue li.review-item").first
    # The thumbnail loads after the page (lazily): wait for it rather than race it on a busy machine.
    page.wait_for_function("() => { const i = document.querySelector('#review-queue li.review-item img');"
                           " return i !== null && i.complete && i.naturalWidth > 0; }")
    assert re.search(r"\d+%", first.locator("ul.top").inner_text())
    assert page.locator("#review-count").inner_text() == str(len(waiting))
    screenshot(page, "review")


def test_accept_with_the_keyboard_saves_through_the_core_stage(server, data_dir, page):
    page.goto(f"{server.url}/review")
    before = queue_ids(page)
    chosen = before[0]
    model = records(data_dir)[chosen]
    page.keyboard.press("a")
    page.wait_for_function("() => document.getElementById('review-status').textContent.startsWith('Accepted')")
    after = records(data_dir)[chosen]
    assert (after["status"], after["reason"]) == ("classified", "human_review")
    assert (after["label"], after["category"]) == (model["label"], model["category"])
    verdict = after["predictions"][-1]
    assert verdict["model_version"] == f"human:{REVIEWER}" and verdict["reviewed_model_version"]
    assert [p["model_version"] for p in after["predictions"][:-1]] == [model["model_version"]]  # model's kept
    assert chosen not in queue_ids(page)
    page.reload()
    assert chosen not in queue_ids(page) and len(queue_ids(page)) == len(before) - 1


def test_correct_with_a_category_key_then_undo(server, data_dir, page):
    page.goto(f"{server.url}/review")
    ids = queue_ids(page)
    categories = page.locator("#review-queue").get_attribute("data-categories").split(",")
    page.keyboard.press("j")
    chosen = ids[1]
    assert page.locator("li.review-item.selected").get_attribute("data-upload-id") == chosen
    page.keyboard.press("2")
    page.wait_for_function("() => document.getElementById('review-status').textContent.startsWith('Set')")
    corrected = records(data_dir)[chosen]
    assert (corrected["status"], corrected["category"]) == ("classified", categories[1])
    assert corrected["predictions"][-1]["model_version"] == f"human:{REVIEWER}"
    screenshot(page, "review-after-decision")

    page.keyboard.press("u")
    page.wait_for_function("() => document.getElementById('review-status').textContent.startsWith('Undone')")
    restored = records(data_dir)[chosen]
    assert (restored["status"], restored["reason"]) == ("needs_review", "low_confidence")
    assert not any(p["model_version"].startswith("human:") for p in restored["predictions"])
    assert chosen in queue_ids(page)


def test_gallery_filters_pages_and_shows_markup_names_as_text(server, data_dir, page):
    page.goto(f"{server.url}/records")
    names = page.locator("#gallery .tile .name").all_inner_texts()
    assert XSS_NAME in names
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], main script').length") == 0
    screenshot(page, "records")
    page.select_option("select[name=status]", "rejected")
    page.click(".filters button[type=submit]")
    statuses = page.locator("#gallery .tile .badge").all_inner_texts()
    assert statuses and set(statuses) == {"rejected"}


def test_record_page_shows_bronze_downscaled_and_the_lineage(server, data_dir, page):
    rotated = next(r for r in records(data_dir).values() if r["raw_name"] == "sideways phone photo.jpg")
    page.goto(f"{server.url}/records/{rotated['upload_id']}")
    bronze = page.locator("img[alt^='bronze preview']")
    width, height = bronze.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    # Stored sideways with EXIF orientation 6: the preview is upright (the core's rules), at most 1024 px.
    assert rotated["raw_width"] < rotated["raw_height"] and max(width, height) <= 1024
    assert (width, height) == (rotated["raw_height"], rotated["raw_width"])
    stages = page.locator("table.lineage td:first-child").all_inner_texts()
    assert stages[:4] == ["upload", "bronze", "silver", "gold"]
    screenshot(page, "record")
    html_file = next(r for r in records(data_dir).values() if r["raw_name"] == "definitely-a-photo.jpg")
    page.goto(f"{server.url}/records/{html_file['upload_id']}")
    assert "no preview" in page.locator(".pair").inner_text()
    response = page.request.get(f"{server.url}/images/{html_file['upload_id']}/bronze.jpg")
    assert response.status == 404 and "html" not in response.headers["content-type"]


def test_upload_through_the_page_then_run(server, data_dir, page):
    page.goto(f"{server.url}/upload")
    page.set_input_files("#file", files=[{"name": SCRIPT_NAME, "mimeType": "image/jpeg",
                                          "buffer": jpeg((20, 120, 220), (640, 480))}])
    page.click("#form-upload button[type=submit]")
    page.wait_for_selector("#upload-saved")
    saved = page.locator("#upload-saved .name").inner_text()
    assert saved.startswith("<script>alert(1)<") and saved.endswith("script>.jpg")
    screenshot(page, "upload")
    imgpipe(data_dir, "run", "--settle", "0", "--workers", "1", "--quiet", env=THRESHOLD)
    mine = [r for r in records(data_dir, "--user", REVIEWER).values()]
    assert len(mine) == 1 and mine[0]["raw_name"] == saved
    assert mine[0]["status"] in ("classified", "needs_review") and mine[0]["cleansed_path"]
    page.goto(f"{server.url}/records?user={REVIEWER}")
    assert page.locator("#gallery .tile .name").all_inner_texts() == [saved]
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    page.goto(f"{server.url}/records/{mine[0]['upload_id']}")
    assert page.locator("#record-name").inner_text() == saved
    assert page.title().startswith(saved)


def test_report_numbers_match_the_database(server, data_dir, page):
    import json

    page.goto(f"{server.url}/report")
    status = json.loads(imgpipe(data_dir, "status", "--json"))
    every = list(records(data_dir, "--all").values())

    def table(selector: str, key: str) -> dict[str, int]:
        rows = page.locator(f"{selector} tr[data-{key}]")
        return {rows.nth(i).get_attribute(f"data-{key}"): int(rows.nth(i).locator("td.n").inner_text())
                for i in range(rows.count())}

    shown = table("#status-counts", "status")
    assert shown.pop("total") == sum(status["counts"].values()) == len(every)
    assert {k: v for k, v in shown.items() if v} == {k: v for k, v in status["counts"].items() if v}
    categories = Counter(r["category"] for r in every if r["status"] in ("classified", "needs_review"))
    assert table("#category-counts", "category") == dict(categories)
    rejects = Counter(r["reason"] for r in every if r["status"] == "rejected")
    assert table("#reject-reasons", "reason") == dict(rejects) and rejects["unsupported_format"] >= 1
    assert int(page.locator("#dlq-total").inner_text()) == sum(status["dead_letters"].values())
    with_gold = [r for r in every if r["status"] in ("gold", "classified", "needs_review", "duplicate")]
    latency = page.locator("#latency tr[data-latency=upload_to_gold] td.n").inner_text()
    assert int(latency) == len(with_gold)
    assert page.locator("img[alt='records per status']").evaluate("img => img.naturalWidth > 0")
    screenshot(page, "report")
