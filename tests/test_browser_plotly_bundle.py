"""The page draws its charts with plotly.js's basic bundle (assets/plotly-basic.min.js) and never downloads the
full bundle: a smaller script to evaluate before the cards show. The bundle must match the plotly.js version
of the pinned Plotly, so an upgrade of one without the other fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs_version

from tests.conftest import PROJECT_ROOT, RunningApp, expect_nine_values, start_app, stop_app, watched_page

BUNDLE = PROJECT_ROOT / "assets" / "plotly-basic.min.js"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(Path(tmp_path_factory.mktemp("plotly-bundle")))
    yield app
    stop_app(app)


def test_the_bundle_is_plotlys_basic_bundle_of_the_pinned_version() -> None:
    head = BUNDLE.read_text(encoding="utf-8")[:300]
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in head


def test_the_page_uses_the_basic_bundle_and_never_fetches_the_full_one(browser, demo_app: RunningApp) -> None:
    with watched_page(browser, demo_app) as page:
        scripts: list[str] = []
        page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
        drawn = "document.querySelectorAll('{} .js-plotly-plot .main-svg .{}').length > 0"
        page.goto(demo_app.url + "/analytics")  # scatter (cycle time) and bar (throughput) charts draw
        page.wait_for_function(drawn.format("", "scatterlayer"), timeout=60_000)
        page.wait_for_function(drawn.format("", "barlayer"), timeout=60_000)
        page.goto(demo_app.url)
        expect_nine_values(page)
        page.wait_for_function(drawn.format(".metric-card", "scatterlayer"), timeout=60_000)  # the sparklines
        assert page.evaluate("window.Plotly.version") == get_plotlyjs_version()
    assert any(url.split("?")[0].endswith("plotly-basic.min.js") for url in scripts)
    assert not [url for url in scripts if "package_data/plotly" in url], scripts
