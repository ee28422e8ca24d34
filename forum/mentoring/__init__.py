"""Mentor requests, private mentorship spaces and ask-a-mentor."""
