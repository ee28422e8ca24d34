"""What the harness concludes from its figures: ratios, lost posts, tables, comparisons."""

from __future__ import annotations

import json

from bench import compare, latency, pages, report, results, run, signin, write


def _result(name, suite=None, *, rps=100.0, p50=1.0, p95=2.0, p99=3.0, connections=16,
            path="/x", sql=None, **extra):
    found = {
        "name": name, "path": path, "connections": connections, "requests_per_second": rps,
        "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
        "errors": {"socket": 0, "status": 0}, "cpu": {"other_cpu_share": 0.0},
        "workers": [], "sql_queries": sql, **extra,
    }
    if suite:
        found["suite"] = suite
    return found


def test_a_reply_is_confirmed_by_the_thread_and_number_its_redirect_names():
    lines = ["/t/12/some-slug?page=2#post-31", "/t/7/other#post-2", "", "/somewhere/else"]
    assert write.confirmed_posts(lines) == [(12, 31), (7, 2)]


def test_a_confirmed_post_missing_from_the_database_is_lost():
    confirmed = [(1, 2), (1, 3), (2, 2)]
    checked = write.check_posts(confirmed, present={(1, 2), (2, 2), (2, 3)}, new_posts=3)
    assert checked["lost"] == 1
    assert checked["unconfirmed_in_database"] == 1  # (2, 3): in flight at the cut-off
    everything = write.check_posts(confirmed, present={(1, 2), (1, 3), (2, 2)}, new_posts=3)
    assert everything["lost"] == 0 and everything["unconfirmed_in_database"] == 0


def test_the_write_bench_lifts_every_posting_limit_its_replies_would_hit():
    # Imported members are new members, and every bench reply holds a link.
    from forum.settings import Settings

    lifted = Settings(**{k.lower(): v for k, v in write.SERVER_ENV.items()})
    assert lifted.posts_per_minute >= write.UNTHROTTLED
    assert lifted.new_member_posts_per_day >= write.UNTHROTTLED
    assert lifted.new_member_links_per_day >= write.UNTHROTTLED


def test_a_refused_reply_is_reported_with_the_form_error_it_showed():
    text = (
        "=== 422\n<main><div class=\"error-summary\" role=\"alert\"><h2>There is a problem</h2>"
        "<ul><li><a href=\"#body\">New members can share up to 5 links a day.</a></li></ul></div>"
        "<p class=\"field-error\" id=\"body-error\"><span class=\"visually-hidden\">Error: "
        "</span>New members can share up to 5 links a day.</p></main>\n"
        "=== 500\n<h1>Something went wrong</h1>\n"
    )
    assert write.refusal_reasons(text) == {
        "422": "New members can share up to 5 links a day.",
        "500": "Something went wrong",
    }


def test_pages_are_compared_with_healthz_at_the_same_concurrency():
    measured = [
        _result("healthz @16", rps=10_000, path="/healthz"),
        _result("healthz @8", rps=8_000, connections=8, path="/healthz"),
        _result("thread", "pages", rps=3_000),
        _result("search rare word", "search", rps=400, connections=8),
        _result("thread", "latency", rps=1_500),
        _result("healthz @16 (end)", rps=9_000, path="/healthz"),
    ]
    assert run.add_ratios(measured) is True
    assert [r["ratio_to_healthz"] for r in measured] == [1.0, 1.0, 0.3, 0.05, None, 0.9]
    measured[-1]["requests_per_second"] = 5_000
    assert run.add_ratios(measured) is False  # /healthz fell by half: not steady


def test_the_latency_suite_brings_the_pages_it_needs_and_the_write_suite_runs_last():
    names = [s.NAME for s in run.chosen_suites(["write", "latency"])]
    assert names == ["pages", "latency", "write"]
    assert [s.NAME for s in run.chosen_suites(None)] == ["pages", "search", "latency", "write"]


def test_half_load_is_half_the_maximum_and_never_nothing():
    assert latency.rate_for(1_234.0) == 617.0
    assert latency.rate_for(0.4) == 1.0


def test_page_targets_are_ratios_to_healthz():
    measured = [
        {"name": pages.HOT_ANONYMOUS, "suite": "pages", "ratio_to_healthz": 0.3},
        {"name": pages.HOT_SIGNED_IN, "suite": "pages", "ratio_to_healthz": 0.05},
    ]
    met = {t["name"]: t["met"] for t in pages.targets({}, measured)}
    assert list(met.values()) == [True, False]


def test_the_table_shows_sql_counts_worker_memory_and_errors_per_scenario():
    scenario = _result("thread", "pages", rps=2_500.0, sql={"first": 6, "repeat": 1},
                       ratio_to_healthz=0.25)
    scenario["errors"] = {"socket": 1, "status": 2}
    scenario["preflight"] = {"status": 200, "results": 30}
    scenario["workers"] = [
        {"pid": 1, "rss_mib": 12.8, "command": "python -c from multiprocessing.resource_tracker"},
        {"pid": 2, "rss_mib": 64.2, "command": "python -c from multiprocessing.spawn import spawn_main"},
        {"pid": 3, "rss_mib": 70.6, "command": "python -c from multiprocessing.spawn import spawn_main"},
    ]
    [row] = report.closed_loop_rows([scenario])
    assert row == ["thread", "pages", "16", "2,500.0", "0.250", "1.0", "2.0", "3.0", "3",
                   "30", "6/1", "64/71", "0%"]
    text = results.table(report.CLOSED_HEADERS, [row])
    assert text.splitlines()[0].startswith("scenario")
    assert len({len(line) for line in text.splitlines()[:2]}) == 1  # header and rule align


def test_targets_print_their_comparison():
    line = report.target_line({"name": "lost posts", "value": 0, "limit": 0, "unit": "",
                               "op": "==", "met": True})
    assert line == "ok   lost posts: 0 (target == 0)"
    line = report.target_line({"name": "search p95", "value": 41.0, "limit": 30, "unit": "ms",
                               "met": False})
    assert line == "MISS search p95: 41.0 ms (target < 30 ms)"


def _payload(scenarios, posts):
    return {"scenarios": scenarios, "dataset": {"posts": posts}, "database": "sqlite",
            "git": {"commit": "abc"}, "started_at": "today", "suites": ["pages"]}


def test_comparing_two_runs_checks_thread_and_search_latency_and_query_counts(tmp_path, capsys):
    old = _payload([_result("thread t-hot anonymous", "pages", p95=10.0, sql={"first": 6}),
                    _result("search common word", "pages", p95=20.0, sql={"first": 8}),
                    _result("home", "pages", p95=5.0)], 40_051)
    new = _payload([_result("thread t-hot anonymous", "pages", p95=14.0, sql={"first": 6}),
                    _result("search common word", "pages", p95=40.0, sql={"first": 9}),
                    _result("home", "pages", p95=50.0),
                    _result("write", "write")], 1_000_051)
    rows, targets = compare.compare(old, new)
    assert [r[0] for r in rows] == ["pages/thread t-hot anonymous [closed]",
                                    "pages/search common word [closed]", "pages/home [closed]"]
    assert rows[0][6] == "1.40"
    assert [(t["name"].split("/", 1)[1], t["met"]) for t in targets] == [
        ("thread t-hot anonymous [closed] p95 new/old", True),
        ("thread t-hot anonymous [closed] SQL queries per request", True),
        ("search common word [closed] p95 new/old", False),
        ("search common word [closed] SQL queries per request", False),
    ]
    files = []
    for name, payload in (("old.json", old), ("new.json", new)):
        files.append(tmp_path / name)
        files[-1].write_text(json.dumps(payload))
    assert compare.main([str(f) for f in files]) == 0
    printed = capsys.readouterr().out
    assert "1,000,051 posts" in printed and "MISS" in printed


def test_members_who_can_sign_in_are_read_from_the_dataset(tmp_path):
    lines = [
        {"type": "user", "username": "admin", "email": "a@x", "role": "admin", "password": "p"},
        {"type": "user", "username": "ann000", "email": "b@x", "password": "Bench-pass-123"},
        {"type": "user", "username": "bob001", "email": "c@x"},
        {"type": "user", "username": "cat002", "email": "d@x", "password": "Bench-pass-123"},
        {"type": "topic", "slug": "t", "name": "T"},
    ]
    dataset = tmp_path / "d.jsonl"
    dataset.write_text("".join(json.dumps(line) + "\n" for line in lines))
    found = signin.members_with_passwords(dataset, limit=10)
    assert [m.username for m in found] == ["ann000", "cat002"]
    assert signin.members_with_passwords(dataset, limit=1)[0].password == "Bench-pass-123"


def test_the_write_targets_fail_on_errors_lost_posts_or_unrecorded_confirmations():
    result = _result(write.SCENARIO, "write", replies_per_second=250.0,
                     write={"lost": 0, "every_303_recorded": True})
    assert all(t["met"] for t in write.targets({}, [result]))
    result["write"]["every_303_recorded"] = False
    result["errors"] = {"socket": 0, "status": 3}
    met = {t["name"].split(" (")[0]: t["met"] for t in write.targets({}, [result])}
    assert met == {"replies per second": True, "write errors": False, "lost posts": False}
