"""The search pages, and the loader that turns outbox ids into SearchDocs."""
