"""The report in a real browser (Debian's headless Chromium through Playwright): it opens offline without
console errors or network requests, every image decodes, the contents links land, and a screenshot of the
map shows the service states' colours in real amounts."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from browser import open_page, require_chromium
from leosim.report import build_report
from leosim.report.render import STATE_COLOURS
from test_report import synthetic_meta, synthetic_tables

#: Per-channel tolerance when matching a screenshot pixel to a state colour: PNG scaling in the browser is
#: 1:1 (device scale 1, image narrower than the page), so only anti-aliased border pixels differ.
COLOUR_TOLERANCE = 12
#: Smallest share of the map's pixels each of active green and denied red must cover. In the synthetic
#: scenario Ukraine (active) and Russia (denied) each fill well over a tenth of the first panel; 2% leaves
#: room for layout changes while still failing for a legend swatch alone (~0.05%).
MIN_STATE_SHARE = 0.02

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    require_chromium()
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(build_report(synthetic_tables(), synthetic_meta()), encoding="utf-8")
    return path


def _share(image: Image.Image, colour: str) -> float:
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(pixels - target).max(axis=2) <= COLOUR_TOLERANCE).mean())


def test_report_opens_offline_without_errors(report_file):
    with open_page(report_file) as visit:
        page = visit.page
        assert visit.console_errors == []
        assert visit.blocked == [] and visit.non_local_requests == [] and visit.failed == []
        # every embedded figure decoded into a real bitmap
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
        assert len(sizes) == 11 and all(done and width >= 800 for done, width in sizes)
        # every contents link points at a section that exists
        targets = page.eval_on_selector_all("nav a", "links => links.map(a => a.getAttribute('href'))")
        assert targets and all(page.locator(target).count() == 1 for target in targets)
        assert page.title() == "Test scenario & <friends>"  # escaped in the file, shown as text
        assert page.locator("script").count() == 0


def test_map_screenshot_shows_active_and_denied(report_file):
    with open_page(report_file) as visit:
        first_map = visit.page.locator("#map figure img").first
        first_map.scroll_into_view_if_needed()
        shot = Image.open(io.BytesIO(first_map.screenshot()))
    assert shot.width >= 800 and shot.height >= 300
    green = _share(shot, STATE_COLOURS["active"])
    red = _share(shot, STATE_COLOURS["denied"])
    amber = _share(shot, STATE_COLOURS["restricted"])
    assert green >= MIN_STATE_SHARE, f"active green covers {green:.2%} of the map"
    assert red >= MIN_STATE_SHARE, f"denied red covers {red:.2%} of the map"
    assert amber > 0.001, f"restricted amber (Poland) covers {amber:.2%} of the map"


def test_skips_with_a_reason_without_chromium(tmp_path):
    with pytest.raises(pytest.skip.Exception, match=r"Chromium at .*no-such-chromium"):
        require_chromium(tmp_path / "no-such-chromium")


def test_helper_catches_console_errors_and_network_requests(tmp_path):
    # the checks above can fail: a page that logs an error and reaches for the network is caught
    require_chromium()
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="https://example.invalid/tile.png">'
                    '<script>console.error("boom")</script></body></html>', encoding="utf-8")
    with open_page(page) as visit:
        pass
    assert any("boom" in text for text in visit.console_errors)
    assert visit.blocked == ["https://example.invalid/tile.png"]
    assert visit.non_local_requests == ["https://example.invalid/tile.png"]


#: The window width the report must fit (issue 14: the Constellation row stretched the page to 2,402 px).
PAGE_WIDTH_PX = 1400


def test_page_fits_1400_px_and_no_cell_is_clipped(tmp_path):
    # The synthetic report with what made the real one overflow: a long constellation description, long
    # hashes, and three what-if variants with long gateway/PoP names.
    tables = synthetic_tables()
    whatif = tables["whatif"]
    extra = whatif.assign(variant="Crimea switched on as well", gateway="gw-a-rather-long-gateway-name",
                          pop="pop-somewhere-far")
    tables["whatif"] = pd.concat([whatif, extra], ignore_index=True)
    meta = {**synthetic_meta(), "constellation": "Starlink first generation (FCC 21-48): " + "550 km/53° 72×22, " * 12,
            "input_sha256": {f"input-{i}.geojson": "ab" * 32 for i in range(3)},
            "variants": synthetic_meta()["variants"] + [{"name": "Crimea switched on as well", "description": "x"}]}
    path = tmp_path / "report.html"
    path.write_text(build_report(tables, meta), encoding="utf-8")
    with open_page(path, viewport={"width": PAGE_WIDTH_PX, "height": 900}) as visit:
        page = visit.page
        scroll_width = page.evaluate("() => document.scrollingElement.scrollWidth")
        clipped = page.evaluate("""() => [...document.querySelectorAll('td, th')]
            .filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent)""")
        scrolled = page.evaluate("""() => [...document.querySelectorAll('.table-wrap')]
            .filter(w => w.scrollWidth > w.clientWidth).map(w => w.textContent.slice(0, 60))""")
    assert scroll_width <= PAGE_WIDTH_PX
    assert clipped == []
    assert scrolled == []  # no table hides columns (the what-if's PoP) behind a scroll bar either
