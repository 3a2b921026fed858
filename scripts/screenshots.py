"""Screenshots of the map and GraphiQL for docs/ (``make screenshots``), made again at will.

Runs against a server that serves the demo city (``make demo`` in another terminal) with the
token it wrote to ``var/demo/token.txt``:

    .venv/bin/python scripts/screenshots.py docs/img [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.parse
from pathlib import Path

from cimhouse.web.browser import Chromium


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token-file", type=Path, default=Path("var/demo/token.txt"))
    args = parser.parse_args()
    token = args.token_file.read_text(encoding="utf-8").strip()
    with Chromium(width=1400, height=900) as page:
        page.goto(f"{args.url}/map#token={token}")
        page.wait_for("window.cimhouseReady === true", timeout=120)
        page.wait_for("window.cimhouseMap.areTilesLoaded() && !window.cimhouseMap.isMoving()")
        time.sleep(1)
        page.screenshot(args.out / "map.png")
        query = "{ estates(first: 5) { totalCount edges { node { code name } } } }"
        headers = json.dumps({"Authorization": f"Bearer {token}"})
        page.goto(f"{args.url}/graphql?" + urllib.parse.urlencode(
            {"q": query, "headers": headers}, quote_via=urllib.parse.quote))
        page.wait_for("!!document.querySelector('.graphiql-execute-button')")
        page.evaluate("document.querySelector('.graphiql-execute-button').click(); true")
        page.wait_for("(() => { const r = document.querySelector('.result-window');"
                      " return r && r.innerText.includes('data'); })()")
        # the token is not for a picture: blur the headers pane
        page.evaluate("(() => { const s = document.createElement('style'); s.textContent ="
                      " '.graphiql-editor-tool .graphiql-editor { filter: blur(6px); }';"
                      " document.head.appendChild(s); return true; })()")
        page.screenshot(args.out / "graphiql.png")
    print(f"wrote {args.out / 'map.png'} and {args.out / 'graphiql.png'}")


if __name__ == "__main__":
    main()
