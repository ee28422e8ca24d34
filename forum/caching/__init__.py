"""Caches that are right by construction: every entry names the version stamps it was built from."""
