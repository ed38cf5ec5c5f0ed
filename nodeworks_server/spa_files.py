"""How WhiteNoise caches the built web app's files. Imported by settings, so no Django imports here.

Vite names everything under /assets/ after a hash of its content (`index-B3x_9aQe.js`): such a file
never changes, so browsers may keep it for a year. index.html names the current assets, so it must
be asked for again every time (`no-cache` still allows a 304 through its ETag).
"""

HASHED_ASSETS_PREFIX = "/assets/"


def is_hashed_asset(path: str, url: str) -> bool:
    return url.startswith(HASHED_ASSETS_PREFIX)


def add_headers(headers, path: str, url: str) -> None:
    if url == "/index.html" or url.endswith(".html"):
        headers["Cache-Control"] = "no-cache"
