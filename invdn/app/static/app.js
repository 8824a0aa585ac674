// invdn serve page: uploads images to /api/jobs, polls their progress, shows a before/after
// slider with zoom, and links the downloads. No framework; the server does all image work.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_IN_FLIGHT = 2;   // uploads the page keeps at the server; the rest wait here
const jobs = [];
let models = [];
let inFlight = 0;
let selected = null;
const view = { zoom: 1, cx: 0, cy: 0, W: 0, H: 0, fit: 1 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n) => n.toLocaleString("en");

function detail(body) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ");
  }
  return "unexpected answer from the server";
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  return { response, body };
}

async function init() {
  const [m, h] = await Promise.all([getJSON("api/models"), getJSON("health")]);
  models = m.body.models;
  const select = $("model");
  for (const x of models) select.add(new Option(`${x.name} (${x.kind})`, x.name));
  select.value = m.body.default;
  select.addEventListener("change", showModelInfo);
  showModelInfo();
  const lim = h.body.limits;
  $("limits").textContent = `${h.body.formats.join(", ")} · 8 or 16 bit · gray, RGB, RGBA · ` +
    `up to ${lim.max_upload_mb} MB and ${lim.max_megapixels} MP per image · ` +
    `running on ${h.body.device}`;
  $("samples").max = lim.max_samples;
}

function showModelInfo() {
  const x = models.find((m) => m.name === $("model").value);
  if (x) $("model-info").textContent = `${fmt(x.parameters)} parameters · ${x.source}`;
}

function currentOptions() {
  return {
    model: $("model").value,
    samples: $("samples").value || "1",
    self_ensemble: $("self-ensemble").checked ? "true" : "false",
    tile: $("tile").value,
    overlap: "32",
    seed: $("seed").value || "0",
  };
}

// ---- the list of images ----------------------------------------------------------------

function addFiles(fileList) {
  for (const file of fileList) {
    const job = { file, name: file.name, status: "waiting", options: currentOptions() };
    job.el = makeRow(job);
    jobs.push(job);
    render(job);
  }
  pump();
}

function makeRow(job) {
  const li = document.createElement("li");
  li.innerHTML = '<span class="name"></span><progress max="1" value="0"></progress>' +
    '<span class="state"></span><a class="button download" hidden>Download</a>';
  li.querySelector(".name").textContent = job.name;
  li.querySelector(".name").title = job.name;
  li.addEventListener("click", (e) => {
    if (job.status === "done" && !e.target.classList.contains("download")) show(job);
  });
  $("jobs").appendChild(li);
  return li;
}

function stateText(job) {
  const info = job.info || {};
  switch (job.status) {
    case "waiting": return "waiting";
    case "busy": return job.note;
    case "uploading": return "uploading…";
    case "queued": return "queued";
    case "running": return `tiles ${info.tiles_done} / ${info.tiles_total}`;
    case "done": return `noise σ ≈ ${info.noise_sigma.toFixed(1)} · ${info.seconds.toFixed(2)} s · ` +
      `${info.width}×${info.height} ${info.bit_depth}-bit ${info.format.toUpperCase()}`;
    case "failed": return job.error;
    default: return job.status;
  }
}

function render(job) {
  const li = job.el;
  li.className = job.status + (job === selected ? " selected" : "");
  li.dataset.status = job.status;
  const bar = li.querySelector("progress");
  const info = job.info || {};
  bar.max = info.tiles_total || 1;
  bar.value = job.status === "done" ? bar.max : (info.tiles_done || 0);
  li.querySelector(".state").textContent = stateText(job);
  const link = li.querySelector(".download");
  link.hidden = job.status !== "done";
  if (job.status === "done") link.href = `api/jobs/${job.id}/result`;
}

function pump() {
  while (inFlight < MAX_IN_FLIGHT) {
    const next = jobs.find((j) => j.status === "waiting");
    if (!next) return;
    inFlight += 1;
    run(next).finally(() => { inFlight -= 1; pump(); });
  }
}

async function submit(job) {
  for (let attempt = 0; ; attempt += 1) {
    const form = new FormData();
    form.append("file", job.file, job.file.name);
    for (const [k, v] of Object.entries(job.options)) form.append(k, v);
    job.status = "uploading";
    render(job);
    const { response, body } = await getJSON("api/jobs", { method: "POST", body: form });
    if (response.status === 503 && attempt < 60) {
      const wait = Number(response.headers.get("Retry-After")) || 2;
      job.status = "busy";
      job.note = `server busy, retrying in ${wait} s`;
      render(job);
      await sleep(wait * 1000);
      continue;
    }
    if (!response.ok) throw new Error(detail(body));
    return body;
  }
}

async function run(job) {
  try {
    job.info = await submit(job);
    job.id = job.info.id;
    for (;;) {
      const { response, body } = await getJSON(`api/jobs/${job.id}`);
      if (!response.ok) throw new Error(detail(body));
      job.info = body;
      job.status = body.status;
      render(job);
      if (body.status === "done") break;
      if (body.status === "failed") throw new Error(body.error);
      await sleep(body.status === "queued" ? 400 : 150);
    }
    if (!selected) show(job);
    updateZip();
  } catch (err) {
    job.status = "failed";
    job.error = `${err.message}`;
    render(job);
  }
}

function updateZip() {
  const done = jobs.filter((j) => j.status === "done");
  $("zip-row").hidden = done.length < 2;
  $("zip").href = `api/zip?ids=${done.map((j) => j.id).join(",")}`;
  $("zip").textContent = `Download all ${done.length} (zip)`;
}

// ---- the before/after viewer ---------------------------------------------------------------

function show(job) {
  const previous = selected;
  selected = job;
  if (previous) render(previous);
  render(job);
  const info = job.info;
  $("viewer").hidden = false;
  $("download").href = `api/jobs/${job.id}/result`;
  const channels = { 1: "gray", 2: "gray + alpha", 3: "RGB", 4: "RGBA" }[info.channels];
  $("viewer-info").textContent =
    `Estimated noise σ ≈ ${info.noise_sigma.toFixed(1)} (0–255 scale) · ` +
    `denoised in ${info.seconds.toFixed(2)} s with “${info.model}” ` +
    `(${fmt(info.parameters)} parameters) · ${info.tiles_total} tile(s) · ` +
    `${info.width}×${info.height} ${channels}, ${info.bit_depth}-bit ${info.format.toUpperCase()}`;
  view.zoom = 1;
  let loaded = 0;
  const ready = () => { loaded += 1; if (loaded === 2) layout(true); };
  for (const [img, which] of [[$("before"), "noisy"], [$("after"), "denoised"]]) {
    img.onload = ready;
    img.src = `api/jobs/${job.id}/preview/${which}`;
  }
}

function layout(reset) {
  const before = $("before");
  const nw = before.naturalWidth, nh = before.naturalHeight;
  if (!nw || !nh) return;
  const room = $("viewer").clientWidth - 24;
  view.fit = Math.min(room / nw, (window.innerHeight * 0.55) / nh);
  view.W = Math.round(nw * view.fit);
  view.H = Math.round(nh * view.fit);
  const stage = $("stage");
  stage.style.width = `${view.W}px`;
  stage.style.height = `${view.H}px`;
  $("frame").style.width = `${view.W}px`;
  $("frame").style.height = `${view.H}px`;
  if (reset) { view.cx = view.W / 2; view.cy = view.H / 2; }
  applyView();
}

function offsets() {
  // translate so (cx, cy) sits in the middle, without showing anything outside the image
  const z = view.zoom;
  const tx = Math.min(0, Math.max(view.W - view.W * z, view.W / 2 - view.cx * z));
  const ty = Math.min(0, Math.max(view.H - view.H * z, view.H / 2 - view.cy * z));
  return [tx, ty];
}

function applyView() {
  const [tx, ty] = offsets();
  const z = view.zoom;
  const frame = $("frame");
  frame.style.transform = `translate(${tx}px, ${ty}px) scale(${z})`;
  frame.classList.toggle("pixelated", view.fit * z >= 2);
  // The slider is a position on screen; the clip is in the unzoomed frame's pixels.
  const x = (Number($("slider").value) / 100) * view.W;
  const local = Math.min(view.W, Math.max(0, (x - tx) / z));
  $("after").style.clipPath = `inset(0 0 0 ${local}px)`;
  $("divider").style.left = `${x}px`;
  $("stage").style.cursor = z >= 8 ? "crosshair" : "zoom-in";
  for (const b of document.querySelectorAll("#toolbar button")) {
    b.classList.toggle("on", Number(b.dataset.zoom) === z);
  }
}

function setZoom(z) {
  view.zoom = z;
  if (z === 1) { view.cx = view.W / 2; view.cy = view.H / 2; }
  applyView();
}

$("stage").addEventListener("click", (e) => {
  const rect = $("stage").getBoundingClientRect();
  const [tx, ty] = offsets();
  view.cx = (e.clientX - rect.left - tx) / view.zoom;
  view.cy = (e.clientY - rect.top - ty) / view.zoom;
  if (view.zoom === 1) view.zoom = 4;
  applyView();
});
for (const b of document.querySelectorAll("#toolbar button")) {
  b.addEventListener("click", () => setZoom(Number(b.dataset.zoom)));
}
$("slider").addEventListener("input", applyView);
window.addEventListener("resize", () => layout(false));

// ---- picking and dropping files --------------------------------------------------------------

$("files").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
const drop = $("drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (e) => { e.preventDefault(); addFiles(e.dataTransfer.files); });
// A file dropped beside the zone must not make the browser navigate away to it.
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());

init().catch((err) => { $("model-info").textContent = `cannot reach the server: ${err.message}`; });
