"""Messenger's side of the file port (common/files.py): an attachment's `payload.url` (Meta's
CDN), fetched with a hard cap.

Messenger announces no size in the webhook, so the cap is enforced twice: a Content-Length
over the cap refuses before any body is read, and the stream is cut as soon as more than the
cap arrived (a server may announce less than it sends, or nothing at all). Only http(s) URLs
are fetched, with no credentials: the Graph API token never goes to a file URL.
"""

from __future__ import annotations

import logging

import requests

from common.files import FetchRefused, FileRef

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_REDIRECTS = 3


class MessengerFiles:
    """A `FileFetcher` for Messenger attachment URLs."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self.session = requests.Session()
        self.session.max_redirects = MAX_REDIRECTS
        self.session.trust_env = False  # no proxy or .netrc credentials for a CDN URL

    def fetch(self, file: FileRef, max_bytes: int) -> bytes:
        if not file.ref.lower().startswith(("https://", "http://")):
            raise FetchRefused("failed", "not an http(s) URL")
        try:
            with self.session.get(file.ref, stream=True, timeout=self.timeout) as response:
                if response.status_code != 200:
                    raise FetchRefused("failed", f"HTTP {response.status_code}")
                announced = response.headers.get("Content-Length", "")
                if announced.isdigit() and int(announced) > max_bytes:
                    raise FetchRefused("too_big", f"{announced} bytes announced")
                return _capped(response, max_bytes)
        except requests.RequestException as error:
            log.warning("Messenger file download failed: %s", type(error).__name__)
            raise FetchRefused("failed", type(error).__name__) from error

    def close(self) -> None:
        self.session.close()


def _capped(response: requests.Response, max_bytes: int) -> bytes:
    """The body, cut (and refused) as soon as it passes `max_bytes`."""
    chunks, size = [], 0
    for chunk in response.raw.stream(CHUNK, decode_content=True):
        size += len(chunk)
        if size > max_bytes:
            raise FetchRefused("too_big", f"more than {max_bytes} bytes sent")
        chunks.append(chunk)
    return b"".join(chunks)
