// The device screen: renders what the server says (GET /api/screen, server-sent events) and sends
// the user's actions as JSON. All eSIM logic lives in the server's LPA; this file only shows it.

const $ = (id) => document.getElementById(id);

const state = {
  screen: null,
  watchedJob: null, // id of the download this page follows
  jobVersion: -1, // the newest view of it shown so far
  jobAnswered: new Set(), // "id:phase" questions already answered here
  renaming: null,
  deleting: null,
  lastActivationCode: "",
};

// --- talking to the device -------------------------------------------------------------------

class Problem extends Error {
  constructor(problem) {
    super(problem.title);
    this.problem = problem;
  }
}

async function call(path, body) {
  const options = body === undefined
    ? {}
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  return answer(await fetch(path, options));
}

async function answer(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Problem((data && data.problem) || { title: `The device answered HTTP ${response.status}.`, detail: "" });
  }
  return data;
}

// --- the main screen ---------------------------------------------------------------------------

const STATE_WORDS = { enabled: "In use", disabled: "Off" };

function profileTitle(p) {
  return p.nickname || p.name || p.spn || p.iccid;
}

function initials(text) {
  const words = (text || "?").replace(/[^\p{L}\p{N} ]/gu, " ").trim().split(/\s+/);
  return (words[0][0] + (words[1] ? words[1][0] : "")).toUpperCase();
}

function avatar(meta, title) {
  if (meta.icon) {
    const img = document.createElement("img");
    img.className = "icon";
    img.src = meta.icon;
    img.alt = "";
    return img;
  }
  const span = document.createElement("span");
  span.className = "avatar";
  span.textContent = initials(meta.spn || title);
  return span;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, className, onClick) {
  const b = el("button", className, label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function renderScreen(screen) {
  state.screen = screen;
  $("eid").textContent = screen.eid || "unknown";
  const network = $("network");
  network.dataset.state = screen.network.state;
  network.title = screen.network.detail || "";
  $("network-label").textContent = screen.network.label;
  const detail = $("network-detail");
  detail.replaceChildren(el("strong", "", screen.network.label));
  if (screen.network.detail) detail.append(el("div", "network-words", screen.network.detail));

  const list = $("profiles");
  list.replaceChildren();
  for (const p of screen.profiles) list.append(renderProfile(p));
  $("no-profiles").hidden = screen.profiles.length > 0;
}

function renderProfile(p) {
  const item = el("li", "profile");
  item.dataset.iccid = p.iccid;
  item.dataset.state = p.state;
  const title = profileTitle(p);

  const head = el("div", "profile-head");
  head.append(avatar(p, title));
  const main = el("div", "profile-main");
  main.append(el("div", "profile-title", title));
  const sub = el("div", "profile-sub");
  const parts = [];
  if (p.nickname && p.name) parts.push(p.name);
  if (p.spn) parts.push(p.spn);
  sub.textContent = parts.join(" · ");
  const cls = el("span", "badge class", p.profileClass);
  cls.dataset.class = p.profileClass;
  sub.append(cls);
  main.append(sub);
  main.append(el("div", "profile-iccid mono", `ICCID ${p.iccid}`));
  head.append(main);
  const badge = el("span", p.state === "enabled" ? "badge on state" : "badge state", STATE_WORDS[p.state] || p.state);
  head.append(badge);
  item.append(head);

  const actions = el("div", "profile-actions");
  if (p.state === "enabled") {
    actions.append(button("Turn off", "small", () => operate(p, "disable", `${title} turned off.`)));
  } else {
    actions.append(button("Use this eSIM", "small switch-on", () => operate(p, "enable", `Switched to ${title}.`)));
  }
  actions.append(button("Rename", "small", () => openRename(p)));
  actions.append(button("Delete", "small delete", () => openDelete(p)));
  item.append(actions);
  return item;
}

async function refresh() {
  try {
    const screen = await call("/api/screen");
    renderScreen(screen);
    if (screen.download && (state.watchedJob === null || screen.download.id > state.watchedJob)) {
      state.watchedJob = screen.download.id;
      state.jobVersion = -1;
      showJob(screen.download);
    }
  } catch (error) {
    showProblem(error);
  }
}

async function operate(profile, action, doneWords) {
  setBusy(true);
  try {
    const result = await call(`/api/profiles/${encodeURIComponent(profile.iccid)}/${action}`, {});
    renderScreen(result);
    toast(doneWords + notificationWords(result.notifications));
  } catch (error) {
    showProblem(error);
  } finally {
    setBusy(false);
  }
}

function notificationWords(outcomes) {
  const kept = (outcomes || []).filter((o) => !o.delivered);
  if (!kept.length) return "";
  return ` The SM-DP+ could not be told yet (${kept.length} notification${kept.length > 1 ? "s" : ""} kept on the eSIM).`;
}

function setBusy(busy) {
  for (const b of document.querySelectorAll(".profile-actions button, #add-esim, #check-esims")) b.disabled = busy;
}

// --- messages ----------------------------------------------------------------------------------

let toastTimer = null;

function toast(text, problem) {
  const box = $("toast");
  box.replaceChildren(document.createTextNode(text));
  box.classList.toggle("bad", Boolean(problem));
  if (problem && problem.code) box.append(el("span", "toast-code", `SGP.22 code ${problem.code}`));
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, problem ? 9000 : 4000);
}

function showProblem(error) {
  const problem = error.problem || { title: String(error.message || error), detail: "" };
  toast(problem.title, problem);
}

function open(dialog) {
  const d = $(dialog);
  if (!d.open) d.showModal();
}

function close(dialog) {
  const d = $(dialog);
  if (d.open) d.close();
}

const JOB_DIALOGS = ["consent-dialog", "code-dialog", "progress-dialog"];

function only(dialog) {
  for (const d of JOB_DIALOGS) if (d !== dialog) close(d);
  if (dialog) open(dialog);
}

// --- rename and delete -------------------------------------------------------------------------

function openRename(p) {
  state.renaming = p;
  $("nickname").value = p.nickname || "";
  open("rename-dialog");
  $("nickname").select();
}

async function saveRename(event) {
  event.preventDefault();
  const p = state.renaming;
  close("rename-dialog");
  if (!p) return;
  const nickname = $("nickname").value.trim();
  try {
    renderScreen(await call(`/api/profiles/${encodeURIComponent(p.iccid)}/nickname`, { nickname }));
    toast(nickname ? `Renamed to ${nickname}.` : "Name cleared.");
  } catch (error) {
    showProblem(error);
  }
}

function openDelete(p) {
  state.deleting = p;
  $("delete-text").textContent =
    `${profileTitle(p)} (ICCID ${p.iccid}) will be removed from this device. ` +
    "To get it back you need a new activation code from your operator.";
  open("delete-dialog");
}

async function confirmDelete() {
  const p = state.deleting;
  close("delete-dialog");
  if (p) await operate(p, "delete", `${profileTitle(p)} deleted.`);
}

// --- adding an eSIM ----------------------------------------------------------------------------

function openAdd() {
  $("add-error").hidden = true;
  $("qr-file").value = "";
  open("add-dialog");
  $("activation-code").focus();
}

function addError(error) {
  const problem = error.problem || { title: String(error) };
  $("add-error").textContent = problem.title;
  $("add-error").hidden = false;
}

async function submitCode(event) {
  event.preventDefault();
  const code = $("activation-code").value.trim();
  if (!code) {
    addError({ problem: { title: "Paste the activation code first, or upload a QR code picture." } });
    return;
  }
  await startDownload(code, {});
}

async function pickedQr() {
  const file = $("qr-file").files[0];
  if (!file) return;
  try {
    const response = await fetch("/api/qr", {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
    const { activationCode } = await answer(response);
    $("activation-code").value = activationCode;
    await startDownload(activationCode, {});
  } catch (error) {
    addError(error);
  } finally {
    $("qr-file").value = "";
  }
}

async function startDownload(activationCode, extra) {
  state.lastActivationCode = activationCode;
  try {
    const job = await call("/api/downloads", { activationCode, ...extra });
    close("add-dialog");
    if (state.watchedJob !== job.id) {
      state.watchedJob = job.id;
      state.jobVersion = -1;
    }
    showJob(job);
  } catch (error) {
    if ($("add-dialog").open) addError(error);
    else showProblem(error);
  }
}

// "Check for eSIMs": the root SM-DS is asked for events; the first one starts downloading (no QR code).
async function checkForEsims() {
  const b = $("check-esims");
  b.disabled = true;
  try {
    const found = await call("/api/discovery", {});
    if (!found.download) {
      toast("No eSIM is waiting for this device.");
      return;
    }
    state.lastActivationCode = found.download.activationCode;
    if (state.watchedJob !== found.download.id) {
      state.watchedJob = found.download.id;
      state.jobVersion = -1;
    }
    showJob(found.download);
  } catch (error) {
    showProblem(error);
  } finally {
    b.disabled = false;
  }
}

// --- following a download ----------------------------------------------------------------------

function showJob(job) {
  if (state.watchedJob !== null && job.id < state.watchedJob) return; // an older download
  if (state.watchedJob === null || job.id > state.watchedJob) {
    state.watchedJob = job.id; // just started, here or from another page
    state.jobVersion = -1;
  }
  if (job.version <= state.jobVersion) return; // an answer that crossed a newer event
  state.jobVersion = job.version;
  switch (job.phase) {
    case "consent":
      if (!state.jobAnswered.has(`${job.id}:consent`)) showConsent(job);
      break;
    case "confirmation-code":
      if (!state.jobAnswered.has(`${job.id}:code`)) showCodePrompt(job, null);
      break;
    case "done":
      only(null);
      showResult(job);
      refresh();
      break;
    case "failed":
      only(null);
      if (job.problem && job.problem.wrongCode) showCodePrompt(job, job.problem);
      else showResult(job);
      refresh();
      break;
    case "cancelled":
      only(null);
      // refused by the device's own checks (a profile's rules the eSIM does not allow): say why
      if (job.problem && job.problem.kind === "refused") showResult(job);
      else toast("Download cancelled. Nothing was installed.");
      refresh();
      break;
    default:
      showProgress(job);
  }
}

function showConsent(job) {
  const m = job.metadata || {};
  const title = m.name || m.spn || "eSIM profile";
  $("consent-name").textContent = title;
  $("consent-spn").textContent = m.spn || "";
  $("consent-class").textContent = m.profileClass || "operational";
  $("consent-iccid").textContent = m.iccid || "-";
  $("consent-smdp").textContent = job.smdp;
  const rules = (m.policyRules || []).map((r) => r.words).join(", ") || "none";
  $("consent-rules").textContent = m.policyConsent ? `${rules}. ${m.policyConsent}` : rules;
  const icon = $("consent-icon");
  icon.hidden = !m.icon;
  if (m.icon) icon.src = m.icon;
  $("consent-avatar").hidden = Boolean(m.icon);
  $("consent-avatar").textContent = initials(m.spn || title);
  $("consent-dialog").dataset.job = job.id;
  only("consent-dialog");
}

async function answerConsent(accept) {
  const id = Number($("consent-dialog").dataset.job);
  state.jobAnswered.add(`${id}:consent`);
  close("consent-dialog");
  try {
    showJob(await call(`/api/downloads/${id}/consent`, { accept }));
  } catch (error) {
    showProblem(error);
  }
}

function showCodePrompt(job, problem) {
  const d = $("code-dialog");
  d.dataset.job = job.id;
  d.dataset.retry = problem ? "1" : "";
  d.dataset.activationCode = job.activationCode;
  $("code-error").hidden = !problem;
  if (problem) $("code-error").textContent = `${problem.title} Try again. (SGP.22 code ${problem.code})`;
  $("confirmation-code").value = "";
  only("code-dialog");
  $("confirmation-code").focus();
}

async function submitConfirmationCode(event) {
  event.preventDefault();
  const d = $("code-dialog");
  const code = $("confirmation-code").value.trim();
  if (!code) return;
  const id = Number(d.dataset.job);
  close("code-dialog");
  if (d.dataset.retry) {
    // The refused code ended that session; a new one starts with the code given up front.
    await startDownload(d.dataset.activationCode, { confirmationCode: code, consented: true });
    return;
  }
  state.jobAnswered.add(`${id}:code`);
  try {
    showJob(await call(`/api/downloads/${id}/confirmation-code`, { code }));
  } catch (error) {
    showProblem(error);
  }
}

async function cancelCode() {
  const d = $("code-dialog");
  close("code-dialog");
  if (d.dataset.retry) {
    toast("Download cancelled. Nothing was installed.");
    return;
  }
  await cancelJob(Number(d.dataset.job));
}

async function cancelJob(id) {
  try {
    showJob(await call(`/api/downloads/${id}/cancel`, {}));
  } catch (error) {
    showProblem(error);
  }
}

function kb(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

function showProgress(job) {
  $("progress-dialog").dataset.job = job.id;
  $("progress-step").textContent = `${job.step}…`;
  const meter = $("progress-meter");
  const p = job.progress;
  if (p && p.bytesTotal) {
    const percent = Math.round((100 * p.bytesDone) / p.bytesTotal);
    meter.classList.remove("waiting");
    $("progress-fill").style.width = `${percent}%`;
    meter.setAttribute("aria-valuenow", String(percent));
    $("progress-text").textContent =
      `Segment ${p.segment} of ${p.segments} · ${kb(p.bytesDone)} of ${kb(p.bytesTotal)}`;
  } else {
    meter.classList.add("waiting");
    $("progress-fill").style.width = "";
    meter.removeAttribute("aria-valuenow");
    $("progress-text").textContent = job.smdp ? `from ${job.smdp}` : "\u00a0";
  }
  only("progress-dialog");
}

function showResult(job) {
  const done = job.phase === "done";
  const mark = $("result-mark");
  mark.className = `result-mark ${done ? "good" : "bad"}`;
  mark.textContent = done ? "✓" : "!";
  const d = $("result-dialog");
  d.dataset.phase = job.phase;
  if (done) {
    const r = job.result;
    $("result-title").textContent = "eSIM added";
    $("result-text").textContent =
      `${r.name || r.spn || "The profile"}${r.spn && r.name ? ` (${r.spn})` : ""} is on this device. ICCID ${r.iccid}.` +
      notificationWords(job.notifications);
    $("result-code").hidden = true;
    $("result-details").hidden = true;
    $("result-use").hidden = false;
    $("result-use").onclick = () => {
      close("result-dialog");
      operate({ iccid: r.iccid }, "enable", `Switched to ${r.name || r.iccid}.`);
    };
  } else {
    const problem = job.problem || { title: "The download failed.", detail: "" };
    $("result-title").textContent = "eSIM not added";
    $("result-text").textContent = problem.title;
    $("result-code").hidden = !problem.code;
    $("result-code").textContent = problem.code ? `SGP.22 code ${problem.code}` : "";
    $("result-details").hidden = !problem.detail;
    $("result-detail").textContent = problem.detail || "";
    $("result-use").hidden = true;
  }
  if (!d.open) d.showModal();
}

// --- live updates --------------------------------------------------------------------------------

function listen() {
  const events = new EventSource("/api/events");
  events.addEventListener("open", refresh);
  events.addEventListener("screen", (e) => renderScreen(JSON.parse(e.data)));
  events.addEventListener("download", (e) => showJob(JSON.parse(e.data)));
}

function tick() {
  const now = new Date();
  $("clock").textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// --- wiring --------------------------------------------------------------------------------------

function wire() {
  $("add-esim").addEventListener("click", openAdd);
  $("check-esims").addEventListener("click", checkForEsims);
  $("add-cancel").addEventListener("click", () => close("add-dialog"));
  $("add-form").addEventListener("submit", submitCode);
  $("qr-file").addEventListener("change", pickedQr);
  $("consent-yes").addEventListener("click", () => answerConsent(true));
  $("consent-no").addEventListener("click", () => answerConsent(false));
  $("code-form").addEventListener("submit", submitConfirmationCode);
  $("code-cancel").addEventListener("click", cancelCode);
  $("progress-cancel").addEventListener("click", () => cancelJob(Number($("progress-dialog").dataset.job)));
  $("result-close").addEventListener("click", () => close("result-dialog"));
  $("rename-form").addEventListener("submit", saveRename);
  $("rename-cancel").addEventListener("click", () => close("rename-dialog"));
  $("delete-confirm").addEventListener("click", confirmDelete);
  $("delete-cancel").addEventListener("click", () => close("delete-dialog"));
  // Escape closes a dialog without answering: for a download question that means "no".
  $("consent-dialog").addEventListener("cancel", (e) => { e.preventDefault(); answerConsent(false); });
  $("code-dialog").addEventListener("cancel", (e) => { e.preventDefault(); cancelCode(); });
  $("progress-dialog").addEventListener("cancel", (e) => e.preventDefault());
  tick();
  setInterval(tick, 15000);
  refresh();
  listen();
}

wire();
