"""Organisations: the public service mutuals members belong to."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Organisation(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name = fields.CharField(max_length=160)
    sector = fields.CharField(max_length=80, default="")
    stage = fields.CharField(max_length=40, default="")
    parent_body = fields.CharField(max_length=160, default="")
    legal_form = fields.CharField(max_length=80, default="")
    website = fields.CharField(max_length=255, default="")
    description = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organisations"

    def __str__(self) -> str:
        return self.name
