"""Version stamps: counters that move whenever what they stand for changes."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class VersionStamp(Model):
    """One named counter ("content", "search-index"), shared by every process."""

    name = fields.CharField(max_length=40, primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "version_stamps"
