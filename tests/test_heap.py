"""A production web process puts what start-up built out of the cycle collector's reach."""

from __future__ import annotations

import gc
import weakref

from forum.app import create_app
from forum.heap import settle
from forum.settings import Settings


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_lives_and_collects_what_does_not():
    kept = Cycle()
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    settle()
    try:
        assert gc.get_freeze_count() > 0
        # The survivor sits in the permanent generation: no collection walks it again.
        assert not any(obj is kept for obj in gc.get_objects())
        # Nothing unreachable was frozen with it: the garbage cycle was collected first.
        assert gone() is None
    finally:
        gc.unfreeze()


async def test_a_production_app_settles_its_heap_at_start_up(settings):
    production = Settings(**{
        **settings.model_dump(), "environment": "production",
        "secret_key": "a-real-secret-key-for-production-0123456789",
        "smtp_url": "smtp://127.0.0.1:25",
    })
    app = create_app(production)
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0


async def test_other_environments_leave_the_collector_alone(settings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
