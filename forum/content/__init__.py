"""Rendering and sanitising user-written content (markdown, mentions, excerpts)."""
