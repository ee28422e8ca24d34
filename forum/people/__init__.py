"""Organisations (the mutuals) and the people in them."""
