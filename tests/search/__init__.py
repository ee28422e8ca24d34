"""Search in the forum: the outbox, the indexer, the pages and the maintenance commands."""
