from search_index import synonyms


def test_every_wording_belongs_to_one_group_only() -> None:
    seen: set[str] = set()
    for group in synonyms.groups():
        assert not group & seen
        seen |= group


def test_expand_gives_every_wording_folded_both_ways() -> None:
    assert synonyms.expand("LGPS") == {"lgps", "local government pension scheme"}
    assert synonyms.expand("Local Government Pension Scheme") == {
        "lgps", "local government pension scheme",
    }
    assert synonyms.expand("Public Services (Social Value) Act") == {
        "social value act", "public services social value act",
    }


def test_an_unknown_term_expands_to_itself_and_has_no_synonyms() -> None:
    assert synonyms.expand("Pension Bond") == {"pension bond"}
    assert synonyms.synonyms_of("pension bond") == set()
    assert synonyms.expand("  !! ") == set()


def test_find_terms_prefers_the_longest_wording() -> None:
    words = "our co op joined the local government pension scheme".split()
    found = [(start, end) for start, end, _ in synonyms.find_terms(words)]
    assert found == [(1, 3), (5, 9)]


def test_the_meilisearch_mapping_goes_both_ways_with_multi_word_synonyms() -> None:
    mapping = synonyms.meilisearch_synonyms()
    assert mapping["tupe"] == ["transfer of undertakings"]
    assert mapping["transfer of undertakings"] == ["tupe"]
    assert all(term not in others for term, others in mapping.items())
