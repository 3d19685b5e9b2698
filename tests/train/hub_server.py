"""A stand-in for the Hugging Face hub on 127.0.0.1, serving fixture folders a test writes, so the
``hf:ID`` paths (models, tokenizers, data sets) are tested offline with ``HF_ENDPOINT`` pointing
here.

It answers what ``huggingface_hub`` asks (version 1.x): file downloads
``/{repo}/resolve/{revision}/{path}`` (``/datasets/{repo}/...`` for data sets), with the ``ETag``
and ``X-Repo-Commit`` headers it requires, and 404 with ``X-Error-Code: EntryNotFound`` for a
file the repository lacks (transformers probes for optional files); and the three API calls
``datasets`` makes: the repository's info (``/api/datasets/{repo}[/revision/{rev}]``), its tree
(``/api/.../tree/{rev}/{path}``) and ``paths-info``. Every request path is recorded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
"""The one revision every repository is at."""


class HubServer:
    """``with HubServer(root) as hub:`` serves ``root/{org}/{name}`` as model repositories and
    ``root/datasets/{org}/{name}`` as data sets at ``hub.url``; ``hub.requests`` lists the
    paths asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _entry(base: Path, path: Path) -> dict:
    if path.is_dir():
        return {"type": "directory", "path": path.relative_to(base).as_posix(), "oid": COMMIT}
    data = path.read_bytes()
    return {
        "type": "file",
        "path": path.relative_to(base).as_posix(),
        "size": len(data),
        "oid": hashlib.sha1(data).hexdigest(),
    }


def _handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass  # the test reads hub.requests

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _send(self, code: int, body: bytes, headers: dict, head: bool) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _missing(self, head: bool, code: str = "EntryNotFound") -> None:
            self._send(404, b"{}", {"X-Error-Code": code, "X-Repo-Commit": COMMIT}, head)

        def _json(self, value: object, head: bool) -> None:
            body = json.dumps(value).encode()
            self._send(200, body, {"Content-Type": "application/json"}, head)

        def _answer(self, head: bool = False) -> None:
            url = urlsplit(self.path)
            hub.requests.append(url.path)
            parts = unquote(url.path).strip("/").split("/")
            if parts[0] == "api" and len(parts) >= 4 and parts[1] in ("models", "datasets"):
                self._api(parts, url.query, head)
            elif "resolve" in parts and parts.index("resolve") >= 2:
                at = parts.index("resolve")
                file = hub.root.joinpath(*parts[:at], *parts[at + 2 :])
                if not file.is_file():
                    return self._missing(head)
                data = file.read_bytes()
                etag = f'"{hashlib.sha256(data).hexdigest()}"'
                self._send(200, data, {"ETag": etag, "X-Repo-Commit": COMMIT}, head)
            else:
                self._missing(head, "RepoNotFound")

        def _api(self, parts: list[str], query: str, head: bool) -> None:
            kind, repo, rest = parts[1], parts[2:4], parts[4:]
            base = hub.root.joinpath(*(["datasets"] if kind == "datasets" else []), *repo)
            if not base.is_dir():
                return self._missing(head, "RepoNotFound")
            if not rest or rest[0] == "revision":
                files = sorted(f for f in base.rglob("*") if f.is_file())
                siblings = [{"rfilename": f.relative_to(base).as_posix()} for f in files]
                info = {"id": "/".join(repo), "sha": COMMIT, "private": False, "tags": []}
                return self._json({**info, "siblings": siblings}, head)
            if rest[0] == "tree":
                where = base.joinpath(*rest[2:])
                if not where.is_dir():
                    return self._missing(head)
                deep = parse_qs(query).get("recursive", ["false"])[0] == "true"
                items = sorted(where.rglob("*") if deep else where.iterdir())
                return self._json([_entry(base, item) for item in items], head)
            if rest[0] == "paths-info":
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                try:
                    paths = json.loads(body)["paths"]
                except (ValueError, KeyError):
                    paths = parse_qs(body).get("paths", [])
                found = [base / p for p in paths if (base / p).exists()]
                return self._json([_entry(base, item) for item in found], head)
            self._missing(head)

    return Handler
