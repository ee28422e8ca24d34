"""Members, their sessions and their passwords."""
