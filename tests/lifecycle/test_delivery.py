"""Delivery of the CommandResult: retries of transient failures within the window, final failures recorded,
the strict single-attempt mode."""

import json

import pytest

from ocpi_commands_dev.emulation.receiver import Reply


@pytest.fixture(autouse=True)
def _clean_receiver_script(stack):
    stack.receiver.script.clear()
    yield
    stack.receiver.script.clear()
    stack.configure(DELIVERY_RETRY_WINDOW_SECONDS="4")


def test_transient_failures_are_retried_until_delivered(stack):
    stack.configure(DELIVERY_RETRY_WINDOW_SECONDS="15")  # three backoffs (0.5 s, 1 s, 2 s, +-20 %) fit
    stack.receiver.script[:] = [Reply(503), Reply(429), Reply(close=True)]
    url = stack.url("retry/ok")
    stack.start_session(url, headers={"X-Correlation-ID": "retry-corr"})
    command = stack.wait_delivered(url)
    posts = stack.posts(url)
    assert len(posts) == 4
    assert {p.json["result"] for p in posts} == {"ACCEPTED"}
    # OCPI: every request has its own X-Request-ID; the X-Correlation-ID tells the retries of one result.
    assert len({p.header("X-Request-ID") for p in posts}) == 4
    assert {p.header("X-Correlation-ID") for p in posts} == {"retry-corr"}
    assert [a.request_id for a in command.delivery_attempts] == [p.header("X-Request-ID") for p in posts]
    assert command.delivery_status.value == "DELIVERED"
    assert [a.outcome for a in command.delivery_attempts] == ["retryable", "retryable", "retryable", "delivered"]
    assert [a.http_status for a in command.delivery_attempts] == [503, 429, None, 200]
    assert all(a.number == i + 1 for i, a in enumerate(command.delivery_attempts))


def test_read_timeout_is_retried(stack):
    stack.receiver.script[:] = [Reply(delay=1.5)]  # longer than DELIVERY_READ_TIMEOUT_SECONDS=1
    url = stack.url("retry/slow")
    stack.start_session(url)
    command = stack.wait_delivered(url)
    assert [a.outcome for a in command.delivery_attempts] == ["retryable", "delivered"]
    assert "Timeout" in command.delivery_attempts[0].error


def test_ocpi_server_error_in_the_envelope_is_retried(stack):
    stack.receiver.script[:] = [
        Reply(200, json.dumps({"status_code": 3000, "timestamp": "2026-01-01T00:00:00Z"}).encode())
    ]
    url = stack.url("retry/3000")
    stack.start_session(url)
    command = stack.wait_delivered(url)
    assert [(a.outcome, a.ocpi_status_code) for a in command.delivery_attempts] == [
        ("retryable", 3000),
        ("delivered", 1000),
    ]


def test_retries_stop_when_the_window_closes(stack):
    stack.configure(DELIVERY_RETRY_WINDOW_SECONDS="2")
    stack.receiver.script[:] = [Reply(500)] * 20
    url = stack.url("retry/exhausted")
    stack.start_session(url)
    command = stack.wait_delivered(url, timeout=20)
    assert command.delivery_status.value == "FAILED"
    assert 2 <= len(command.delivery_attempts) <= 4  # 0.5 s, 1 s, ... backoff inside a 2 s window
    assert all(a.outcome == "retryable" for a in command.delivery_attempts)
    assert command.delivery_error == "HTTP 500"
    assert len(stack.posts(url)) == len(command.delivery_attempts)
    attempts = command.delivery_attempts
    assert (attempts[-1].started_at - attempts[0].started_at).total_seconds() < 2


@pytest.mark.parametrize(
    ("reply", "outcome", "error"),
    [
        (Reply(401), "failed", "HTTP 401"),
        (Reply(404), "failed", "HTTP 404"),
        (Reply(302), "failed", "redirects are not followed"),
        (
            Reply(200, json.dumps({"status_code": 2001, "timestamp": "2026-01-01T00:00:00Z"}).encode()),
            "rejected",
            "OCPI status_code 2001",
        ),
    ],
)
def test_final_failures_are_not_retried(stack, reply, outcome, error):
    stack.receiver.script[:] = [reply]
    url = stack.url(f"final/{reply.status}")
    stack.start_session(url)
    command = stack.wait_delivered(url)
    assert command.delivery_status.value == "FAILED"
    assert [a.outcome for a in command.delivery_attempts] == [outcome]
    assert error in command.delivery_error
    assert len(stack.posts(url)) == 1


def test_an_answer_that_is_not_an_envelope_still_counts_as_delivered(stack):
    stack.receiver.script[:] = [Reply(200, b"OK, thanks")]
    url = stack.url("garbage/1")
    stack.start_session(url)
    command = stack.wait_delivered(url)
    assert command.delivery_status.value == "DELIVERED"
    assert command.delivery_attempts[0].error == "the answer is not an OCPI envelope"


def test_strict_single_attempt_mode(stack):
    stack.configure(DELIVERY_RETRY_WINDOW_SECONDS="0")
    stack.receiver.script[:] = [Reply(503)]
    url = stack.url("strict/1")
    stack.start_session(url)
    command = stack.wait_delivered(url)
    assert command.delivery_status.value == "FAILED"
    assert len(command.delivery_attempts) == 1
    assert len(stack.posts(url)) == 1


def test_unreachable_emsp_fails_after_retries(stack):
    from ocpi_commands_dev.emulation.stack import free_port

    stack.configure(DELIVERY_RETRY_WINDOW_SECONDS="1")
    url = f"http://127.0.0.1:{free_port()}/nobody/listens"
    stack.start_session(url)
    command = stack.wait_delivered(url)
    assert command.delivery_status.value == "FAILED"
    assert all(a.outcome == "retryable" and a.http_status is None for a in command.delivery_attempts)
