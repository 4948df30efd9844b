"""A small client of the REST API, used by `gpufleet submit`, `queue`, `show`, `cancel`, `acct`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from gpufleet.errors import ServiceError

DEFAULT_SERVER = "http://127.0.0.1:8080"


def _reason(resp: httpx.Response) -> str:
    """The server's reason in one line: FastAPI's `detail`, with field paths when it has them."""
    try:
        detail = resp.json().get("detail", resp.text)
    except ValueError:
        return resp.text.strip() or resp.reason_phrase
    if isinstance(detail, list):
        parts = []
        for d in detail:
            loc = ".".join(str(p) for p in d.get("loc", ()) if p != "body")
            parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", "")))
        return "; ".join(parts)
    return str(detail)


class Client:
    """Calls the control plane with a tenant's bearer token; failures raise ServiceError."""

    def __init__(
        self,
        server: str,
        token: str,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.http = httpx.Client(
            base_url=self.server,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ServiceError(f"cannot reach {self.server}: {e}") from None
        if resp.status_code >= 400:
            raise ServiceError(f"{method} {path}: {resp.status_code} {_reason(resp)}")
        return resp.json()

    def submit(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Submit; a fresh idempotency key by default, so a retried request is not a new job."""
        key = idempotency_key or uuid.uuid4().hex
        out: dict[str, Any] = self._call(
            "POST", "/jobs", json=body, headers={"Idempotency-Key": key}
        )
        return out

    def jobs(self, state: str | None = None) -> list[dict[str, Any]]:
        params = {"state": state} if state else {}
        out: list[dict[str, Any]] = self._call("GET", "/jobs", params=params)
        return out

    def job(self, job_id: int) -> dict[str, Any]:
        out: dict[str, Any] = self._call("GET", f"/jobs/{job_id}")
        return out

    def cancel(self, job_id: int) -> dict[str, Any]:
        out: dict[str, Any] = self._call("DELETE", f"/jobs/{job_id}")
        return out

    def acct(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._call("GET", "/acct")
        return out
