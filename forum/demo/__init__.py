"""Demo content for a first visit."""
