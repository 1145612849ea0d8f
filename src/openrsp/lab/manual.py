"""The manual DUT: a real device, driven by a tester through the lab's web page (`openrsp lab serve`).

For each case the page shows the activation code (QR code and text) and what to do with it, then
waits: it shows each ES9+ request the lab's SM-DP+ receives as it arrives, and asks the tester the
one thing the server cannot see, what the device's screen said, once per step. The answers become
the steps' outcomes; the server's view is judged as for every other DUT.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from openrsp.device.server import bind, url_of
from openrsp.extras import require
from openrsp.lab.duts import DEFAULT, DISCOVER, DOWNLOAD, MANAGE
from openrsp.lab.model import ADDED, ERROR_SHOWN, KEPT_TRYING, Action, Step, StepOutcome
from openrsp.lab.setup import Lab

DOWNLOAD_CHOICES = (ADDED, ERROR_SHOWN, KEPT_TRYING)
MANAGE_CHOICES = ("Done", "An error was shown")
SKIP = "skip"
MAX_ANSWER = 4096  # an answer is one short string


class ManualDut:
    name = "manual"
    capabilities = frozenset({DOWNLOAD, MANAGE, DEFAULT, DISCOVER})

    def __init__(self, lab: Lab, *, host: str = "127.0.0.1", port: int = 8090) -> None:
        self.lab = lab
        self._sock = bind(host, port)
        self._answers: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._current: dict[str, Any] = {"case": None}
        self._finished: list[dict[str, str]] = []
        self._server: uvicorn.Server | None = None
        self._done_shown = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the web page ---------------------------------------------------------------------------
    def start(self) -> str | None:
        app = Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/api/state", self._state, methods=["GET"]),
                Route("/api/answer", self._answer, methods=["POST"]),
                Route("/qr.svg", self._qr, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="lab-page", daemon=True
        )
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            threading.Event().wait(0.02)
        return url_of(self._sock)

    def finish(self, summary: dict[str, int], *, grace: float = 3.0) -> None:
        """Show the campaign's end on the page; wait (a little) until the page has shown it."""
        with self._lock:
            self._current = {"case": None, "done": True, "summary": summary}
        self._done_shown.wait(grace)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._sock.close()

    async def _page(self, _request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def _state(self, _request: Request) -> Response:
        with self._lock:
            state = dict(self._current)
        state["trace"] = [row.line() for row in self.lab.server.recorder.rows()] if state.get("case") else []
        state["waiting_for_device"] = bool(state.get("case")) and not state["trace"]
        state["finished"] = list(self._finished)
        if state.get("done"):
            self._done_shown.set()
        return JSONResponse(state)

    async def _answer(self, request: Request) -> Response:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_ANSWER:
                return JSONResponse({"error": "too large"}, status_code=413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "not JSON"}, status_code=400)
        choice = body.get("choice") if isinstance(body, dict) else None
        with self._lock:
            allowed = list(self._current.get("choices") or []) + [SKIP]
        if not isinstance(choice, str) or choice not in allowed:
            return JSONResponse({"error": "not one of the offered answers"}, status_code=400)
        self._answers.put(choice)
        return JSONResponse({"ok": True})

    async def _qr(self, _request: Request) -> Response:
        with self._lock:
            code = self._current.get("activation_code")
        if not code:
            return Response(status_code=404)
        out = io.BytesIO()
        require("segno", "qr", "showing the activation code as a QR code").make(
            code, error="M", micro=False
        ).save(out, kind="svg", scale=6, border=4)
        return Response(out.getvalue(), media_type="image/svg+xml")

    # --- the DUT ------------------------------------------------------------------------------
    def cannot(self, step: Step) -> str | None:
        return None  # a person can do every step

    def run(self, case_id: str, steps: tuple[Step, ...], after_step: Callable[[], None]) -> tuple[
        list[StepOutcome], str | None
    ]:  # fmt: skip
        from openrsp.lab.cases import select

        [case] = select(case_id)
        outcomes: list[StepOutcome] = []
        answer: str | None = None
        for number, step in enumerate(steps, start=1):
            if step.retry and outcomes and outcomes[-1].ok:
                break  # the first attempt worked: no second one
            manage = step.action in (Action.ENABLE, Action.DISABLE, Action.DELETE)
            choices = MANAGE_CHOICES if manage else DOWNLOAD_CHOICES
            with self._lock:
                self._current = {
                    "case": case.id, "title": case.title, "expected": case.expected,
                    "step": number, "steps": len(steps), "instruction": _instruction(step),
                    "activation_code": step.activation_code, "confirmation_code": step.confirmation_code,
                    "question": "What did the device's screen say?", "choices": list(choices),
                }  # fmt: skip
            choice = self._answers.get()
            if choice == SKIP:
                outcomes.append(StepOutcome(step, False, "skipped by the tester", skipped=True))
                answer = None
                break
            answer = choice
            outcomes.append(StepOutcome(step, choice in (ADDED, "Done"), f"tester: {choice}"))
            after_step()
        with self._lock:
            self._current = {"case": None}
            self._finished.append({"case": case.id, "answer": answer or "skipped"})
        return outcomes, answer


def _instruction(step: Step) -> str:
    if step.action is Action.DOWNLOAD:
        words = "Add an eSIM on the device with this activation code (scan the QR code or type the code)."
    elif step.action is Action.DOWNLOAD_DEFAULT:
        words = "Add an eSIM on the device without an activation code (the eUICC's default SM-DP+)."
    elif step.action is Action.DISCOVER:
        words = (
            "On the device, check for eSIMs (no activation code: it asks its SM-DS) and add the one offered."
        )
    else:
        words = f"{step.action.value.capitalize()} the eSIM {step.iccid} on the device."
    if step.confirmation_code is not None:
        words += f" When asked for the confirmation code, enter {step.confirmation_code}."
    return words + (f" ({step.note})" if step.note else "")


PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>openrsp lab</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2em;max-width:60em}
#qr{width:16em;height:16em}pre{font:12px ui-monospace,monospace;background:#f5f5f5;padding:.6em;white-space:pre-wrap}
button{font:inherit;margin:.2em .4em .2em 0;padding:.4em .9em}.muted{color:#666}#code{font:16px ui-monospace,monospace}
</style></head><body>
<h1>openrsp lab</h1>
<section id="idle"><p id="idle-text">Waiting for the next case…</p></section>
<section id="case" hidden>
<h2><span id="case-id"></span>: <span id="case-title"></span></h2>
<p class="muted">Expected of a conformant device: <span id="case-expected"></span></p>
<p>Step <span id="step"></span> of <span id="steps"></span>: <b id="instruction"></b></p>
<div id="code-box"><img id="qr" alt="activation code as a QR code"><p>Activation code: <span id="code"></span></p></div>
<p id="device-status"></p>
<h3>What the SM-DP+ (and SM-DS) saw</h3><pre id="trace"></pre>
<h3 id="question"></h3><div id="choices"></div>
<p><button id="skip" type="button">Skip this case</button></p>
</section>
<h3>Finished cases</h3><ul id="finished"></ul>
<script>
let shown = "";
async function answer(choice) {
  await fetch("/api/answer", {method: "POST", headers: {"Content-Type": "application/json"},
                              body: JSON.stringify({choice})});
  shown = ""; refresh();
}
async function refresh() {
  const state = await (await fetch("/api/state")).json();
  document.getElementById("idle").hidden = !!state.case;
  if (state.done) {
    document.getElementById("idle-text").textContent = "Campaign finished: " +
      Object.entries(state.summary).map(([k, v]) => `${k}: ${v}`).join(", ") + ". The report is written.";
  }
  document.getElementById("case").hidden = !state.case;
  const finished = document.getElementById("finished");
  finished.replaceChildren(...state.finished.map(f => {
    const li = document.createElement("li"); li.textContent = `${f.case}: ${f.answer}`; return li; }));
  if (!state.case) return;
  document.getElementById("trace").textContent = state.trace.join("\\n") || "(nothing yet)";
  document.getElementById("device-status").textContent =
    state.waiting_for_device ? "Waiting for the device…" : "The device is talking to the SM-DP+.";
  const key = state.case + "/" + state.step;
  if (key === shown) return;
  shown = key;
  for (const name of ["case-id", "case-title", "case-expected", "step", "steps", "instruction", "question"]) {
    const field = {"case-id": "case", "case-title": "title", "case-expected": "expected"}[name] || name;
    document.getElementById(name).textContent = state[field];
  }
  document.getElementById("code-box").hidden = !state.activation_code;
  document.getElementById("code").textContent = state.activation_code || "";
  if (state.activation_code) document.getElementById("qr").src = "/qr.svg?" + encodeURIComponent(key);
  document.getElementById("choices").replaceChildren(...state.choices.map((choice, i) => {
    const b = document.createElement("button"); b.type = "button"; b.textContent = choice;
    b.className = "choice"; b.dataset.choice = i; b.onclick = () => answer(choice); return b; }));
}
document.getElementById("skip").onclick = () => answer("skip");
refresh(); setInterval(refresh, 700);
</script></body></html>
"""
