"""Cross-cutting web plumbing: CSRF, security headers, rate limits, errors, htmx."""
