"""Browser tests: a real uvicorn server driven by Debian's Chromium, checked with axe-core."""
