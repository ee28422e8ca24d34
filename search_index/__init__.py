"""Search as a library: SearchDoc in, SearchPage out, over interchangeable backends.

It knows nothing of the forum's models; the application maps its content to
`SearchDoc`s and hands the indexer a loader.
"""
