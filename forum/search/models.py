"""What people search for: the query and how many results it found, nothing personal."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SearchLog(Model):
    id = fields.BigIntField(primary_key=True)
    # Normalised (folded case and spaces) so the same question counts once.
    query = fields.CharField(max_length=200)
    results = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "search_log"
        indexes = (("results", "created_at"),)
