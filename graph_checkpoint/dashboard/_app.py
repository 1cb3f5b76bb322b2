"""The dashboard's ASGI app: routes, the token check and the security headers."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._sync.manager import CheckpointManager
from ..errors import GraphCheckpointError, RunNotFoundError
from ..model import RunStatus
from . import _views
from ._metrics import FINISHED_RUNS, RunCollector

log = logging.getLogger("graph_checkpoint")

TOKEN_COOKIE = "graph_ckpt_token"

# Everything the pages need is served from here: no script, style or font from elsewhere,
# no inline script, and no framing by other sites.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STATUSES = {str(status) for status in RunStatus}


def _static() -> Any:
    return resources.files("graph_checkpoint.dashboard") / "static"


class _Guard(BaseHTTPMiddleware):
    """Adds the security headers and, with a token, refuses requests that lack it."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await self._checked(request, call_next)
        response.headers.update(_HEADERS)
        return response

    async def _checked(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if self.token is None:
            return await call_next(request)
        given = request.query_params.get("token")
        if given is not None and self._valid(given):
            # A link with ?token= logs the browser in: a cookie from here on, and the token
            # leaves the address bar (and the history).
            query = urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            )
            target = request.url.path + (f"?{query}" if query else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict", path="/")
            return redirect
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else None
        for candidate in (bearer, request.cookies.get(TOKEN_COOKIE)):
            if candidate is not None and self._valid(candidate):
                return await call_next(request)
        return JSONResponse(
            {"error": "a token is needed: 'Authorization: Bearer <token>', or open ?token=<token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    def _valid(self, candidate: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(candidate.encode("utf-8"), self.token.encode("utf-8"))


def _page_number(request: Request) -> int:
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1
    return max(1, page)


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def create_app(
    manager: CheckpointManager,
    *,
    token: str | None = None,
    finished_runs: int = FINISHED_RUNS,
) -> Starlette:
    """The dashboard for the runs ``manager`` reads.

    ``token``: when set, every request must carry it (``Authorization: Bearer``, or a
    browser opens any page once with ``?token=``, which sets a cookie). ``finished_runs``:
    how many finished runs ``/metrics`` exports besides the running ones.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(manager, finished_runs))
    static = _static()

    def page(name: str) -> Callable[[Request], Response]:
        body = (static / name).read_bytes()

        def endpoint(request: Request) -> Response:
            return Response(body, media_type="text/html; charset=utf-8")

        return endpoint

    def api_runs(request: Request) -> Response:
        status = _text(request, "status")
        if status is not None and status not in _STATUSES:
            return _error(400, f"unknown status {status!r}; one of: {', '.join(sorted(_STATUSES))}")
        return _json(
            lambda: _views.runs_page(
                manager, page=_page_number(request), status=status, loader=_text(request, "loader")
            )
        )

    def api_run(request: Request) -> Response:
        return _json(lambda: _views.run_page(manager, request.path_params["run_id"]))

    def api_failures(request: Request) -> Response:
        return _json(
            lambda: _views.failures_page(
                manager,
                request.path_params["run_id"],
                page=_page_number(request),
                search=_text(request, "q"),
            )
        )

    def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/", page("runs.html")),
        Route("/runs/{run_id:path}", page("run.html")),
        Route("/api/runs", api_runs),
        Route("/api/runs/{run_id:path}/failures", api_failures),
        Route("/api/runs/{run_id:path}", api_run),
        Route("/metrics", metrics),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Guard, token=token)])


def _json(build: Callable[[], Any]) -> Response:
    try:
        return JSONResponse(build())
    except RunNotFoundError as exc:
        return _error(404, str(exc))
    except GraphCheckpointError as exc:
        log.warning("dashboard: %s", exc)
        return _error(503, str(exc))


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)
