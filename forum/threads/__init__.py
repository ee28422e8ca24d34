"""Topics, threads, posts, helpful votes and accepted answers."""
