from __future__ import annotations

import re
from urllib.parse import unquote_plus

import httpx
import pytest

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


class ConsoleClient:
    """A browser-like HTTP client of the console: logged in, reading CSRF tokens off pages."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def login(self, token: str) -> httpx.Response:
        return await self.http.post("/admin/login", data={"token": token, "next": "/admin/ui/channels"})

    async def csrf(self, page: str = "/admin/ui/users") -> str:
        response = await self.http.get(page)
        assert response.status_code == 200, response.text
        return CSRF.search(response.text).group(1)

    async def post(self, path: str, fields: dict, csrf: str | None = None) -> httpx.Response:
        return await self.http.post(path, data={"csrf": csrf if csrf is not None else await self.csrf(), **fields})


def redirect_error(answer: httpx.Response) -> str:
    """Where a refused form post sends the browser, decoded: the page with its `error=`."""
    assert answer.status_code == 303, answer.text
    location = unquote_plus(answer.headers["location"])
    assert "error=" in location, location
    return location


@pytest.fixture
async def console(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        client = ConsoleClient(http)
        assert (await client.login(stack.admin_token)).status_code == 303
        yield client


@pytest.fixture
async def anonymous(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        yield ConsoleClient(http)
