"""The open-loop generator: its schedule, its statistics, and a short run against a real server."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench import openloop


def test_the_processes_together_keep_one_evenly_spaced_schedule():
    rate, seconds = 400.0, 2.5
    parts = [openloop.due_offsets(rate, seconds, k, 3) for k in range(3)]
    merged = sorted(t for part in parts for t in part)
    assert len(merged) == 1000
    assert merged == pytest.approx([i / rate for i in range(1000)])
    assert parts[1][:2] == pytest.approx([1 / rate, 4 / rate])


def test_a_schedule_with_no_rate_or_time_is_empty_and_a_wrong_process_is_refused():
    assert openloop.due_offsets(0, 10) == []
    assert openloop.due_offsets(100, 0) == []
    with pytest.raises(ValueError):
        openloop.due_offsets(100, 1, process=2, processes=2)


def test_the_rate_is_shared_among_enough_processes_but_never_more_than_the_limit():
    assert openloop.processes_for(10) == 1
    assert openloop.processes_for(openloop.PER_PROCESS_RATE + 1) == 2
    assert openloop.processes_for(1e9) == openloop.MAX_PROCESSES


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert openloop.percentile(values, 50) == 50
    assert openloop.percentile(values, 95) == 95
    assert openloop.percentile(values, 99.9) == 100
    assert openloop.percentile([7.0], 99) == 7.0
    assert openloop.percentile([], 50) is None


def _report(latencies, lags, *, scheduled=None, last_start=0.99, statuses=None, socket_errors=0):
    return {
        "scheduled": scheduled if scheduled is not None else len(lags), "started": len(lags),
        "last_start_s": last_start, "latencies_ms": latencies, "lags_ms": lags,
        "statuses": statuses or {"200": len(latencies)}, "socket_errors": socket_errors,
        "connections_opened": 2,
    }


def test_merged_reports_give_percentiles_over_every_request_and_count_errors():
    first = _report([1.0] * 50, [0.1] * 50, statuses={"200": 49, "500": 1})
    second = _report([9.0] * 50, [0.2] * 50, socket_errors=2)
    merged = openloop.merge([first, second], rate=100, seconds=1)
    assert merged["completed"] == 100
    assert merged["latency_ms"]["p50"] == 1.0
    assert merged["latency_ms"]["p95"] == 9.0
    assert merged["errors"] == {"socket": 2, "status": 1}
    assert merged["sent_rate"] == 100.0
    assert merged["generator_kept_up"] is True


def test_a_generator_that_sent_late_or_too_slowly_did_not_keep_up():
    late = _report([1.0] * 100, [0.1] * 90 + [50.0] * 10)
    assert openloop.merge([late], rate=100, seconds=1)["generator_kept_up"] is False
    slow = _report([1.0] * 100, [0.1] * 100, last_start=1.5)  # 100 sends over 1.5 s
    assert openloop.merge([slow], rate=100, seconds=1)["generator_kept_up"] is False
    short = _report([1.0] * 90, [0.1] * 90, scheduled=100)
    assert openloop.merge([short], rate=100, seconds=1)["generator_kept_up"] is False


def test_requests_are_only_built_for_loopback_addresses():
    target = openloop.build_request("http://127.0.0.1:8123/search?q=a", ["Cookie: s=1"])
    assert target.port == 8123
    assert target.request.startswith(b"GET /search?q=a HTTP/1.1\r\n")
    assert b"\r\nCookie: s=1\r\n" in target.request
    with pytest.raises(SystemExit):
        openloop.build_request("http://example.org/")


async def _read(raw: bytes) -> tuple[int, bool]:
    reader = asyncio.StreamReader()
    reader.feed_data(raw)
    reader.feed_eof()
    return await openloop.read_response(reader)


async def test_responses_are_read_by_length_by_chunks_or_to_the_end():
    assert await _read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == (200, True)
    chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
    assert await _read(chunked) == (404, True)
    assert await _read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == (
        200, False)
    assert await _read(b"HTTP/1.0 200 OK\r\n\r\nuntil the end") == (200, False)


async def _drive_against(serve, rate: float, seconds: float) -> dict:
    """An open-loop run against a local server whose connections `serve` handles."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        target = openloop.build_request(f"http://127.0.0.1:{port}/")
        report = await openloop.drive(target, openloop.due_offsets(rate, seconds), time.time() + 0.05)
    finally:
        server.close()
        await server.wait_closed()
    return openloop.merge([report], rate=rate, seconds=seconds)


async def test_a_short_run_keeps_its_schedule_against_a_real_server():
    async def serve(reader, writer):
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    merged = await _drive_against(serve, rate=200, seconds=0.5)
    assert merged["completed"] == 100
    assert merged["statuses"] == {"200": 100}
    assert merged["errors"] == {"socket": 0, "status": 0}
    assert merged["connections_opened"] < 100  # connections are kept alive


async def test_a_keep_alive_connection_the_server_closed_is_retried_on_a_new_one():
    # This server closes every connection after one answer without saying so, as a
    # server does when its keep-alive timeout ends while the client is sending.
    async def serve(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        finally:
            writer.close()

    merged = await _drive_against(serve, rate=50, seconds=0.4)
    assert merged["errors"] == {"socket": 0, "status": 0}
    assert merged["statuses"] == {"200": 20}


def test_generator_processes_report_every_request_however_long_the_report():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default 5 drops connections on a busy machine

    server = Server(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # 6,000 latencies per process: a report well over a pipe's 64 KiB.
        merged = openloop.run(f"http://127.0.0.1:{server.server_address[1]}/", 3000, 4, processes=2)
    finally:
        server.shutdown()
        server.server_close()
    # Every request is in the reports: answered or, should this server fall behind
    # on a busy machine, counted as an error; none is lost with a cut report.
    assert merged["processes"] == 2 and merged["scheduled"] == 12000
    assert merged["completed"] + merged["errors"]["socket"] == 12000
    assert merged["completed"] > 6000 and merged["errors"]["status"] == 0
