"""Drive a sign-in round trip like a browser: the app through its ASGI client, the
provider over real HTTP, each with its own cookies."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2

APP_ORIGIN = "http://testserver"
MAX_HOPS = 12


@dataclass
class RoundTrip:
    app: httpx2.AsyncClient
    provider: httpx2.AsyncClient

    async def to_provider(self, response: httpx2.Response) -> str:
        """Follow the provider's redirects from `response` (the app's redirect to it)
        to its login page; returns the login page's URL."""
        url = await self._at_provider(response)
        assert not url.startswith("/"), f"the provider sent the browser straight back: {url}"
        return url

    async def _at_provider(self, response: httpx2.Response) -> str:
        """The provider's login page URL, or the app callback (path and query) when the
        provider remembers the person and sends them straight back."""
        assert response.status_code in (302, 303), response.text[:300]
        url = response.headers["location"]
        for _ in range(MAX_HOPS):
            page = await self.provider.get(url)
            if page.status_code in (302, 303):
                url = str(page.url.join(page.headers["location"]))
                if url.startswith(APP_ORIGIN):
                    parts = urlsplit(url)
                    return f"{parts.path}?{parts.query}"
                continue
            assert page.status_code == 200 and "Test provider" in page.text, page.text[:300]
            return url
        raise AssertionError("too many redirects at the provider")

    async def log_in(self, login_page: str, login: str, password: str) -> str:
        """Fill in the provider's login form; returns the app callback URL (path and query)."""
        action = login_page.rstrip("/") + "/login"
        response = await self.provider.post(action, data={"login": login, "password": password})
        return await self._back_to_app(response)

    async def cancel(self, login_page: str) -> str:
        response = await self.provider.post(login_page.rstrip("/") + "/abort")
        return await self._back_to_app(response)

    async def _back_to_app(self, response: httpx2.Response) -> str:
        for _ in range(MAX_HOPS):
            assert response.status_code in (302, 303), response.text[:300]
            url = str(response.url.join(response.headers["location"]))
            if url.startswith(APP_ORIGIN):
                parts = urlsplit(url)
                return f"{parts.path}?{parts.query}"
            response = await self.provider.get(url)
        raise AssertionError("the provider never sent the browser back to the app")

    async def callback_url(self, start: str, login: str, password: str) -> str:
        """Start at the app (`start`: a GET path), log in at the provider, and return the
        callback URL the provider sends the browser back with (not yet opened)."""
        url = await self._at_provider(await self.app.get(start))
        if url.startswith("/"):
            return url  # the provider still had the person signed in
        return await self.log_in(url, login, password)

    async def sign_in(self, login: str, password: str, start: str = "/auth/test/start") -> httpx2.Response:
        """The whole round trip; returns the app's answer to the callback."""
        return await self.app.get(await self.callback_url(start, login, password))
