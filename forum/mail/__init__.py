"""Outgoing email: SMTP in production, files in ./data/mail/ in development."""
