"""Live executions on the worker's side: stored output, samples, cancel, limits, artifacts."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from scriptdeck.access.models import AuditEvent
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import sync
from scriptdeck.executions import services
from scriptdeck.executions.models import EventKind, ExecutionEvent, Status, TaskExecution
from scriptdeck.refusals import NotFound
from scriptdeck.worker import sweeper
from scriptdeck.worker.execute import execute

from .conftest import write_script


def add_script(folder, name, body, **settings_):
    write_script(folder, f"{name}.py", body)
    sync()
    script = Script.objects.get(name=name)
    for key, value in settings_.items():
        setattr(script, key, value)
    script.save()
    return script


def test_output_is_stored_as_ordered_chunks_with_streams_apart(
    synced, scripts_dir, alice, alice_client, broker
):
    script = add_script(
        scripts_dir,
        "talks",
        """
        import sys, time
        for i in range(3):
            print(f"out {i}", flush=True)
            print(f"err {i}", file=sys.stderr, flush=True)
            time.sleep(0.05)
        """,
    )
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    events = list(ExecutionEvent.objects.filter(execution=execution).order_by("seq"))
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    stdout = "".join(e.text for e in events if e.kind == EventKind.STDOUT)
    stderr = "".join(e.text for e in events if e.kind == EventKind.STDERR)
    assert stdout == "out 0\nout 1\nout 2\n"
    assert stderr == "err 0\nerr 1\nerr 2\n"
    page = alice_client.get(f"/api/executions/{execution.pk}/output/").data
    assert [c["stream"] for c in page["chunks"]].count("stderr") >= 1
    assert page["finished"] is True
    later = alice_client.get(f"/api/executions/{execution.pk}/output/", {"after": seqs[0]}).data
    assert [c["seq"] for c in later["chunks"]] == [
        e.seq for e in events if e.kind != EventKind.SAMPLE and e.seq > seqs[0]
    ]


def test_stored_output_of_a_long_run_stays_bounded_and_says_what_was_dropped(
    synced, scripts_dir, alice, settings, broker
):
    settings.SCRIPTDECK_OUTPUT_LIMIT = 1024 * 1024
    script = add_script(
        scripts_dir,
        "floods",
        """
        import sys
        line = b"y" * 1023 + b"\\n"
        for _ in range(50 * 1024):
            sys.stdout.buffer.write(line)
        sys.stdout.buffer.write(b"THE END\\n")
        """,
    )
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    execution.refresh_from_db()
    assert execution.status == Status.SUCCESS
    assert execution.stdout_bytes == 50 * 1024 * 1024 + 8
    assert execution.stdout_dropped > 48 * 1024 * 1024
    stored = ExecutionEvent.objects.filter(execution=execution, kind=EventKind.STDOUT)
    stored_bytes = sum(e.raw_bytes for e in stored)
    assert stored_bytes <= 1024 * 1024 + 2 * 65536
    assert stored.order_by("-seq").first().text.endswith("THE END\n")
    assert stored.order_by("seq").first().text.startswith("yyy")


def test_non_utf8_output_is_replaced_and_a_split_character_survives(
    synced, scripts_dir, alice, broker
):
    script = add_script(
        scripts_dir,
        "bytes",
        """
        import sys, time
        out = sys.stdout.buffer
        out.write(b"bad \\xff "); out.write("中".encode()[:1]); out.flush()
        time.sleep(0.3)
        out.write("中".encode()[1:] + b" ok\\n"); out.flush()
        """,
    )
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    text = "".join(
        ExecutionEvent.objects.filter(execution=execution, kind=EventKind.STDOUT)
        .order_by("seq")
        .values_list("text", flat=True)
    )
    assert text == "bad \ufffd 中 ok\n"


def test_samples_become_a_compact_timeline_when_the_run_ends(synced, scripts_dir, alice, broker):
    script = add_script(
        scripts_dir,
        "busy",
        """
        import time
        end = time.time() + 1.6
        block = bytearray(30 * 1024 * 1024)
        while time.time() < end:
            pass
        print("{}")
        """,
    )
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    execution.refresh_from_db()
    timeline = execution.timeline
    assert len(timeline) >= 2
    seq, t, rss, cpu, processes = timeline[-1][:5]
    assert rss > 30 * 1024 * 1024
    assert processes == 1
    assert max(point[3] for point in timeline) > 50  # a busy loop shows as CPU %
    assert not ExecutionEvent.objects.filter(execution=execution, kind=EventKind.SAMPLE).exists()


def test_a_cancelled_pending_execution_never_runs(
    synced, scripts_dir, alice, alice_client, broker, tmp_path
):
    marker = tmp_path / "ran"
    script = add_script(scripts_dir, "marks", f"open({str(marker)!r}, 'w').write('x')")
    execution = services.submit(script=script, user=alice)
    response = alice_client.post(f"/api/executions/{execution.pk}/cancel/")
    assert response.status_code == 202
    assert response.data["status"] == "CANCELLED"
    assert execute(execution.pk) == "skipped"  # the message arrives later: nothing runs
    execution.refresh_from_db()
    assert execution.status == Status.CANCELLED
    assert execution.cancelled_by.username == "alice"
    assert "before it started" in execution.error_message
    assert not marker.exists()


def test_cancelling_an_ended_execution_is_a_conflict(synced, alice, alice_client, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    execute(execution.pk)
    response = alice_client.post(f"/api/executions/{execution.pk}/cancel/")
    assert response.status_code == 409
    assert response.data["status"] == "FAILURE"
    assert "already ended" in response.data["detail"]
    assert response["Refusal-Code"] == "already_ended"
    assert not AuditEvent.objects.filter(action="execution.cancel").exists()


def test_cancel_refuses_who_may_not_see_the_run_and_writes_no_audit(synced, alice, bob, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    with pytest.raises(NotFound):
        services.cancel(execution.pk, bob)
    execution.refresh_from_db()
    assert execution.status == Status.PENDING
    assert not AuditEvent.objects.filter(action="execution.cancel").exists()


def test_cancel_writes_its_audit_row_with_the_change(synced, alice, broker):
    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    assert services.cancel(execution.pk, alice, origin_ip="192.0.2.7") == Status.CANCELLED
    event = AuditEvent.objects.get(action="execution.cancel")
    assert (event.actor, event.ip) == (alice, "192.0.2.7")
    assert event.detail == {"script": "fails", "status_then": "CANCELLED"}


@pytest.mark.django_db(transaction=True)
def test_a_running_execution_is_cancelled_with_its_partial_output(
    synced, scripts_dir, alice, admin_client, broker
):
    script = add_script(
        scripts_dir,
        "stubborn",
        """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen([sys.executable, "-c", "import signal, time\\n"
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(60)"])
        print("working", flush=True)
        time.sleep(60)
        """,
    )
    execution = services.submit(script=script, user=alice)
    worker = threading.Thread(target=execute, args=(execution.pk,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not ExecutionEvent.objects.filter(
            execution=execution, kind=EventKind.STDOUT
        ).exists():
            assert time.monotonic() < deadline, "no output arrived"
            time.sleep(0.05)
        assert admin_client.post(f"/api/executions/{execution.pk}/cancel/").data["status"] == (
            "STARTED"
        )
    finally:
        worker.join(timeout=20)
    assert not worker.is_alive()
    execution.refresh_from_db()
    assert execution.status == Status.CANCELLED
    assert execution.failure_reason == "cancelled"
    assert execution.cancelled_by.username == "admin"
    assert "SIGINT, then SIGTERM, then SIGKILL" in execution.error_message
    assert "working" in execution.stdout
    assert execution.completed_at is not None


def test_a_concurrency_limit_holds_runs_back_and_releases_them_in_order(synced, alice, broker):
    script = Script.objects.get(name="fails")
    script.max_concurrent = 1
    script.save()
    first, second, third = (services.submit(script=script, user=alice) for _ in range(3))
    services.release(script.pk)
    assert [m["args"] for m in broker] == [[first.pk]]
    assert services.queue_position(TaskExecution.objects.get(pk=third.pk)) == 3
    assert services.start(first.pk, "w", 1) is not None
    # A message for the second one arriving early (a redispatch) finds no free slot.
    assert services.start(second.pk, "w", 2) is None
    assert TaskExecution.objects.get(pk=second.pk).status == Status.PENDING
    services.fail(first.pk, "internal_error", "test")
    services.release(script.pk)  # what the end of a run schedules after commit
    assert [m["args"] for m in broker] == [[first.pk], [second.pk]]
    assert services.queue_position(TaskExecution.objects.get(pk=third.pk)) == 2


def test_artifacts_are_kept_with_size_and_digest_and_download_byte_for_byte(
    synced, scripts_dir, alice, alice_client, broker, tmp_path
):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for you")
    script = add_script(
        scripts_dir,
        "reports",
        f"""
        import os
        out = os.environ["SCRIPT_OUTPUT_DIR"]
        os.makedirs(os.path.join(out, "sub"))
        open(os.path.join(out, "report.bin"), "wb").write(bytes(range(256)) * 100)
        open(os.path.join(out, "sub", "../../escape.txt"), "w").write("no")
        open(os.path.join(out, "sub", "note.txt"), "w").write("hi")
        os.symlink({str(secret)!r}, os.path.join(out, "link.txt"))
        print("{{}}")
        """,
    )
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    listed = alice_client.get(f"/api/executions/{execution.pk}/artifacts/").data
    assert [a["name"] for a in listed] == ["report.bin", "sub/note.txt"]
    report = listed[0]
    content = bytes(range(256)) * 100
    assert report["size"] == len(content)
    assert report["sha256"] == hashlib.sha256(content).hexdigest()
    download = alice_client.get(report["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "application/octet-stream"


def test_a_lost_message_of_a_limited_script_is_sent_again_and_frees_the_slot(
    synced, alice, broker, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    script = Script.objects.get(name="fails")
    script.max_concurrent = 1
    script.save()
    lost = services.submit(script=script, user=alice)
    waiting = services.submit(script=script, user=alice)
    services.release(script.pk)
    assert [m["args"] for m in broker] == [[lost.pk]]
    # The broker loses that message: the row stays PENDING, stamped as sent long ago.
    TaskExecution.objects.filter(pk=lost.pk).update(
        dispatched_at=timezone.now() - timedelta(seconds=settings.SCRIPTDECK_REDISPATCH_AFTER + 1)
    )
    sweeper.sweep()
    assert [m["args"] for m in broker] == [[lost.pk], [lost.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        assert execute(lost.pk) == "finished"
    assert [m["args"] for m in broker][-1] == [waiting.pk]


def test_nul_characters_in_output_and_result_are_stored_replaced(
    synced, scripts_dir, alice, broker
):
    script = add_script(
        scripts_dir,
        "prints_nul",
        """
        import json, sys
        sys.stdout.write("a\\x00b\\n")
        sys.stdout.flush()
        print(json.dumps({"value": "x\\x00y"}), file=sys.stderr)
        import os
        json.dump({"value": "x\\x00y"}, open(os.environ["SCRIPT_RESULT_FILE"], "w"))
        """,
    )
    execution = services.submit(script=script, user=alice)
    execute(execution.pk)
    execution.refresh_from_db()
    assert execution.status == Status.SUCCESS, execution.error_message
    assert execution.result["value"] == "x\ufffdy"
    assert execution.stdout == "a\ufffdb\n"
    stored = ExecutionEvent.objects.filter(execution=execution, kind=EventKind.STDOUT)
    assert "".join(e.text for e in stored) == "a\ufffdb\n"


def test_messages_of_a_limited_script_start_its_runs_in_submission_order(synced, alice, broker):
    script = Script.objects.get(name="fails")
    script.max_concurrent = 2
    script.save()
    first, second, third = (services.submit(script=script, user=alice) for _ in range(3))
    services.release(script.pk)
    # The second's message is taken first (another worker was quicker): the first starts.
    assert services.start(second.pk, "w1", 1).pk == first.pk
    assert services.start(first.pk, "w2", 2).pk == second.pk
    assert TaskExecution.objects.get(pk=third.pk).status == Status.PENDING


def test_the_scripts_pid_is_written_with_the_first_batch_of_output(synced, alice, broker):
    from scriptdeck.worker.live import LiveSink

    execution = services.submit(script=Script.objects.get(name="fails"), user=alice)
    services.start(execution.pk, "w", 1)
    sink = LiveSink(execution.pk, 1024 * 1024)
    sink.on_start(4242)
    assert TaskExecution.objects.get(pk=execution.pk).pid is None  # no statement of its own
    sink.on_output("stdout", b"working\n")
    assert sink.flush()
    assert TaskExecution.objects.get(pk=execution.pk).pid == 4242
    sink.on_output("stdout", b"still\n")
    assert sink.flush()
    assert sink.unsaved_pid is None


def test_the_last_output_is_kept_even_when_the_run_was_ended_meanwhile(
    synced, scripts_dir, alice, broker, monkeypatch
):
    script = add_script(scripts_dir, "talks", "print('last words')\n")
    execution = services.submit(script=script, user=alice)
    real_finish = services.finish

    def declared_lost_first(execution_id, *args, **kwargs):
        # The sweeper gave up on the run just before its worker recorded the end.
        assert services.fail(execution_id, "worker_lost", "The worker stopped heartbeating.")
        return real_finish(execution_id, *args, **kwargs)

    monkeypatch.setattr(services, "finish", declared_lost_first)
    execute(execution.pk)
    row = TaskExecution.objects.get(pk=execution.pk)
    assert (row.status, row.failure_reason) == (Status.FAILURE, "worker_lost")
    chunks = ExecutionEvent.objects.filter(execution=row, kind=EventKind.STDOUT)
    assert "".join(c.text for c in chunks.order_by("seq")) == "last words\n"
