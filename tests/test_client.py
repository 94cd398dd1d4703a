"""The kernel driven by jupyter_client 8, as JupyterLab, Notebook, VS Code
and nbclient drive it: interrupts in both modes, stdin, display updates, a
forged message, restart."""

from __future__ import annotations

import os
import queue
import time

import pytest
from jupyter_client.session import Session

import gocode
from conftest import KERNEL_NAME, execute, running_kernel, stream_text

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("mode", ["message", "signal"])
def test_interrupt_stops_for_loop_and_keeps_state(mode, kernel_names):
    with running_kernel(kernel_names[mode]) as (km, kc):
        assert km.kernel_spec.interrupt_mode == mode
        reply, _ = execute(kc, "kept := 41")
        assert reply["status"] == "ok", reply
        msg_id = kc.execute(gocode.LOOP)
        time.sleep(1.0)  # the loop is spinning
        started = time.monotonic()
        km.interrupt_kernel()
        while True:
            msg = kc.get_shell_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id:
                break
        took = time.monotonic() - started
        assert msg["content"]["status"] == "error", msg["content"]
        assert took < 1.0, f"interrupt took {took:.2f}s"
        reply, outputs = execute(kc, "kept + 1")
        assert reply["status"] == "ok", reply
        results = [m for m in outputs if m["msg_type"] == "execute_result"]
        assert results and results[0]["content"]["data"]["text/plain"] == "42"


def test_stdin_round_trip():
    with running_kernel() as (km, kc):
        prompts = []

        def answer(msg):
            prompts.append(msg["content"])
            kc.input("Ada Lovelace" if not msg["content"]["password"] else "s3cret")

        code = (
            f'import (\n\t"fmt"\n\t"{gocode.DISPLAY}"\n)\n'
            'name, err := display.Input("Your name? ")\n'
            "if err != nil {\n\tpanic(err)\n}\n"
            'pw, _ := display.Password("Password: ")\n'
            'fmt.Printf("hello %s! (%d)\\n", name, len(pw))'
        )
        reply, outputs = execute(kc, code, allow_stdin=True, stdin_hook=answer)
        assert reply["status"] == "ok", reply
        assert prompts == [{"prompt": "Your name? ", "password": False}, {"prompt": "Password: ", "password": True}]
        assert "hello Ada Lovelace! (6)" in stream_text(outputs)
        # Without allow_stdin (nbconvert, papermill) the cell gets an error, not a hang.
        reply, _ = execute(kc, f'import "{gocode.DISPLAY}"\n_, err := display.Input("x")\nif err != nil {{\n\tpanic(err)\n}}',
                           allow_stdin=False)
        assert reply["status"] == "error" and "stdin" in reply["evalue"], reply


def test_update_display_data():
    with running_kernel() as (km, kc):
        code = (
            f'import "{gocode.DISPLAY}"\n'
            "id := display.NewID()\n"
            'display.ShowID(id, "step 1")\n'
            'display.Update(id, "step 2")\n'
        )
        reply, outputs = execute(kc, code)
        assert reply["status"] == "ok", reply
        shown = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
        assert [m["msg_type"] for m in shown] == ["display_data", "update_display_data"], [m["msg_type"] for m in outputs]
        ids = {m["content"]["transient"]["display_id"] for m in shown}
        assert len(ids) == 1 and "" not in ids
        assert "step 2" in shown[1]["content"]["data"]["text/plain"]


def test_bad_signature_is_ignored():
    with running_kernel() as (km, kc):
        forged = Session(key=b"not-the-connection-key", username="mallory")
        forged.send(kc.shell_channel.socket, "execute_request",
                    content={"code": "forged := 1", "silent": False, "store_history": True,
                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        unsigned = Session(key=b"", username="mallory")
        unsigned.send(kc.shell_channel.socket, "execute_request", content={"code": "forged := 2", "silent": False})
        with pytest.raises(queue.Empty):
            kc.get_shell_msg(timeout=2)
        assert km.is_alive()
        reply, _ = execute(kc, "forged")
        assert reply["status"] == "error", "a forged execute_request was run"
        reply, _ = execute(kc, "1 + 1")
        assert reply["status"] == "ok"


def test_restart_gives_a_fresh_session():
    with running_kernel() as (km, kc):
        reply, _ = execute(kc, "before := 1")
        assert reply["status"] == "ok"
        old_pid = km.provisioner.process.pid
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(old_pid, 0)
                time.sleep(0.1)
        reply, _ = execute(kc, "before")
        assert reply["status"] == "error", "state survived a restart"
        reply, _ = execute(kc, "2 + 3")
        assert reply["status"] == "ok"


def test_history_survives_a_restart(history_file):
    """A restarted kernel is the next history session and still answers for
    the cells of the one before (IPython's history, kept in a file)."""
    with running_kernel() as (km, kc):
        reply, _ = execute(kc, "first := 6 * 7")
        assert reply["status"] == "ok"
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        reply, _ = execute(kc, "second := 1")
        assert reply["status"] == "ok"
        msg_id = kc.history(hist_access_type="tail", n=2, raw=True, output=False)
        hist = kc.get_shell_msg(timeout=10)
        assert hist["parent_header"]["msg_id"] == msg_id
        assert [tuple(h) for h in hist["content"]["history"]] == [(1, 1, "first := 6 * 7"), (2, 1, "second := 1")]
        msg_id = kc.history(hist_access_type="range", session=-1, start=1, stop=0, raw=True, output=False)
        hist = kc.get_shell_msg(timeout=10)
        assert [tuple(h) for h in hist["content"]["history"]] == [(1, 1, "first := 6 * 7")]
    assert history_file.exists()


def test_shutdown_reply_on_control():
    km_kc = running_kernel()
    with km_kc as (km, kc):
        proc = km.provisioner.process
        msg = kc.session.msg("shutdown_request", {"restart": False})
        kc.control_channel.send(msg)
        reply = kc.control_channel.get_msg(timeout=10)
        assert reply["msg_type"] == "shutdown_reply"
        assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        assert proc.wait(timeout=10) == 0


def test_stop_on_error_aborts_queued_cells():
    with running_kernel() as (km, kc):
        first = kc.execute('import "time"\ntime.Sleep(300 * time.Millisecond)\npanic("first")')
        second = kc.execute("second := 2")
        replies = {}
        while len(replies) < 2:
            m = kc.get_shell_msg(timeout=30)
            replies[m["parent_header"]["msg_id"]] = m["content"]["status"]
        assert replies == {first: "error", second: "aborted"}
        reply, _ = execute(kc, "second")
        assert reply["status"] == "error"


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)  # a zombie has exited
    except FileNotFoundError:
        return True


def test_kernel_exits_when_its_parent_dies():
    import subprocess
    import sys

    script = (
        "import time\n"
        "from jupyter_client.manager import KernelManager\n"
        "km = KernelManager(kernel_name=%r)\n"
        "km.start_kernel()\n"
        "print(km.provisioner.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    ) % KERNEL_NAME
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        time.sleep(1.0)
        assert not _gone(pid), "kernel died while its parent lived"
        parent.kill()  # no shutdown_request: the parent just vanishes
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(pid):
            assert time.monotonic() < deadline, "kernel outlived its parent by 10 s"
            time.sleep(0.2)
    finally:
        parent.kill()


def test_kernel_info_comm_info_user_expressions():
    with running_kernel() as (km, kc):
        msg_id = kc.kernel_info()
        info = kc.get_shell_msg(timeout=10)
        assert info["parent_header"]["msg_id"] == msg_id
        c = info["content"]
        assert c["status"] == "ok" and c["implementation"] == "steerbook" and c["banner"]
        assert c["help_links"] and all({"text", "url"} <= set(link) for link in c["help_links"])
        li = c["language_info"]
        assert (li["name"], li["mimetype"], li["file_extension"], li["pygments_lexer"], li["codemirror_mode"]) == (
            "go", "text/x-go", ".go", "go", "go")
        assert li["version"][0].isdigit()

        msg_id = kc.comm_info()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["msg_type"] == "comm_info_reply" and reply["content"] == {"status": "ok", "comms": {}}

        reply = kc.execute_interactive("base := 40", user_expressions={"sum": "base + 2", "bad": "nosuchname"},
                                       timeout=30)["content"]
        ue = reply["user_expressions"]
        assert ue["sum"]["status"] == "ok" and ue["sum"]["data"]["text/plain"] == "42", ue
        assert ue["bad"]["status"] == "error", ue
