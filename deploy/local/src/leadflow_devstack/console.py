"""The web console as its own process: a small static server for `console/app` and the charting library,
with `/config.json` telling the browser where the four service APIs answer."""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from leadflow_devstack import procs
from leadflow_devstack.env import SERVICES
from leadflow_devstack.paths import StackPaths

CONSOLE_HOST = "127.0.0.1"
CONSOLE_PORT = 8080
NAME = "console"
# The library files the page loads, by the path it asks for, under console/node_modules.
VENDOR = {"/vendor/chart.umd.min.js": Path("chart.js") / "dist" / "chart.umd.min.js"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json"}


def origins(port: int = CONSOLE_PORT) -> list[str]:
    """The browser origins of a console on this port: the loopback address and `localhost`."""
    return [f"http://{CONSOLE_HOST}:{port}", f"http://localhost:{port}"]


def cors_env(console_origins: Sequence[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each service's `<SVC>_CORS_ORIGINS` naming the console's origins; a value the env already sets (for
    one service or all of them) is kept."""
    given = env or {}
    if given.get("LEADFLOW_CORS_ORIGINS"):
        return {}
    keys = [f"{s.prefix}_CORS_ORIGINS" for s in SERVICES]
    return {key: given.get(key) or ",".join(console_origins) for key in keys}


def content_security_policy(apis: Mapping[str, str]) -> str:
    """What the page may load and call: its own files, and the service APIs (no inline script, no CDN)."""
    connect = " ".join(["'self'", *sorted(set(apis.values()))])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class ConsoleHandler(BaseHTTPRequestHandler):
    """GET and HEAD of the console's files, the vendored library and `/config.json`; nothing else."""

    server_version = "leadflow-console"

    def __init__(self, *args: object, app: Path, modules: Path, apis: Mapping[str, str]) -> None:
        self.app = app
        self.modules = modules
        self.apis = apis
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        """Answer a file, the config, or 404."""
        self._answer(body_too=True)

    def do_HEAD(self) -> None:
        """Answer the headers GET would."""
        self._answer(body_too=False)

    def log_message(self, format: str, *args: object) -> None:
        """One line per request on stderr (the stack keeps it in the console's log)."""
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _answer(self, *, body_too: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/config.json":
            body = json.dumps({"services": dict(self.apis)}).encode()
            self._send(HTTPStatus.OK, body, "application/json", body_too=body_too, cache=False)
            return
        file = self._file(path)
        if file is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", body_too=body_too, cache=False)
            return
        kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, file.read_bytes(), kind, body_too=body_too, cache=path in VENDOR)

    def _file(self, path: str) -> Path | None:
        if path in VENDOR:
            candidate = self.modules / VENDOR[path]
            return candidate if candidate.is_file() else None
        if path in ("", "/"):
            path = "/index.html"
        candidate = (self.app / path.lstrip("/")).resolve()
        # Only files inside the app folder: `..` and symlinks out of it are not served.
        if not candidate.is_relative_to(self.app) or not candidate.is_file():
            return None
        return candidate

    def _send(self, code: HTTPStatus, body: bytes, kind: str, *, body_too: bool, cache: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", f"{kind}; charset=utf-8" if kind.startswith("text/") else kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", content_security_policy(self.apis))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-cache")
        self.end_headers()
        if body_too:
            self.wfile.write(body)


def make_server(host: str, port: int, root: Path, apis: Mapping[str, str]) -> ThreadingHTTPServer:
    """A server for the console folder `root` (its `app/` and `node_modules/`), not yet serving."""
    handler = partial(
        ConsoleHandler, app=(root / "app").resolve(), modules=(root / "node_modules").resolve(), apis=apis
    )
    return ThreadingHTTPServer((host, port), handler)


def command(root: Path, port: int, apis: Mapping[str, str], host: str = CONSOLE_HOST) -> list[str]:
    """The command line that serves the console."""
    args = [sys.executable, "-m", "leadflow_devstack.console", "--root", str(root), "--host", host]
    args += ["--port", str(port)]
    for name, url in apis.items():
        args += ["--api", f"{name}={url}"]
    return args


def check_installed(root: Path) -> None:
    """Fail with what to run when the console's npm packages are missing."""
    for relative in VENDOR.values():
        if not (root / "node_modules" / relative).is_file():
            raise procs.StackError(f"{root / 'node_modules' / relative} is missing: run `make install`")


def start(paths: StackPaths, env: Mapping[str, str], port: int = CONSOLE_PORT) -> bool:
    """Start the console server unless it runs; True if a new process was started."""
    if procs.running_pid(paths.pid(NAME)) is not None:
        return False
    if procs.port_open(CONSOLE_HOST, port):
        raise procs.StackError(f"port {port} is taken by a process this stack did not start")
    root = paths.root / "console"
    check_installed(root)
    apis = {s.name: f"http://{env.get(f'{s.prefix}_HTTP_HOST', '127.0.0.1')}:{s.port}" for s in SERVICES}
    procs.start_detached(
        command(root, port, apis),
        log_file=paths.log(NAME),
        pid_file=paths.pid(NAME),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=paths.root,
    )
    return True


def stop(paths: StackPaths) -> bool:
    """SIGTERM the console server; True if it was running."""
    return procs.stop(paths.pid(NAME), timeout=5.0)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the console until interrupted."""
    parser = argparse.ArgumentParser(description="Serve the leadflow web console.")
    parser.add_argument("--root", type=Path, required=True, help="the console folder (app/, node_modules/)")
    parser.add_argument("--host", default=CONSOLE_HOST)
    parser.add_argument("--port", type=int, default=CONSOLE_PORT)
    parser.add_argument("--api", action="append", default=[], help="NAME=URL of a service API")
    args = parser.parse_args(argv)
    apis = dict(item.split("=", 1) for item in args.api)
    server = make_server(args.host, args.port, args.root, apis)
    sys.stderr.write(f"console: serving {args.root / 'app'} on http://{args.host}:{args.port}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
