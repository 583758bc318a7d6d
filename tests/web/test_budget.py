"""No page ships more than 150 KB of JavaScript and CSS: the assets a page links are summed as
served (uncompressed), a fixed property of the templates, not a timing."""

from __future__ import annotations

import re

import httpx

BUDGET_BYTES = 150 * 1024
ASSET = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*rel="stylesheet"[^>]*\shref)="([^"]+)"')


async def linked_asset_bytes(client: httpx.AsyncClient, path: str) -> tuple[int, list[str]]:
    page = await client.get(path)
    assert page.status_code == 200, path
    assets = ASSET.findall(page.text)
    total = 0
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        total += len(served.content)
    return total, assets


async def test_the_pages_stay_within_the_script_and_style_budget(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/sign-in", "/sign-up", "/tutors"):
        total, assets = await linked_asset_bytes(client, path)
        assert "/static/app.css" in assets and "/static/vendor/htmx/htmx.min.js" in assets
        assert total <= BUDGET_BYTES, f"{path} links {total} bytes of JS and CSS: {assets}"
