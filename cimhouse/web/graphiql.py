"""GraphiQL without internet: strawberry's page with its CDN addresses replaced by ours.

The ``integrity`` attributes stay as strawberry wrote them; the files under ``/vendor/`` are
the same bytes (:mod:`cimhouse.web.assets` checks them at install), so the browser's check
passes for the local copies exactly as it would for the CDN's.
"""

from __future__ import annotations

from functools import cache

from cimhouse.web.assets import ASSETS


@cache
def offline_graphiql_html() -> str:
    """The GraphiQL page, every script and style from ``/vendor/`` (raises if one is left)."""
    from strawberry.http.ides import get_graphql_ide_html

    html = get_graphql_ide_html(graphql_ide="graphiql")
    for item in ASSETS:
        html = html.replace(f"https://unpkg.com/{item.package}@{item.version}/{item.path}",
                            item.url)
    if "https://" in html.replace("https://github.com", ""):
        raise RuntimeError("the GraphiQL page still names a remote address")
    return html
