"""Mutuals Knowledge Network: the web application."""
