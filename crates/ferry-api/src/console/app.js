// Ferry's web console: a single page over the public API only. The API key lives in this
// tab's sessionStorage and travels as `Authorization: Bearer`; nothing else is stored.
// Pages: #/namespaces, #/migrations, #/migrations/<id>, #/new.
"use strict";

const MIGRATIONS = "/v1/namespaces/migrations";
const SETTLED = ["completed", "failed", "cancelled"];
let pollTimer = null;

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const key = () => sessionStorage.getItem("ferry_api_key") || "";

// The API's own words for a failure: a 422's detail items with their location, or the
// ErrorResponse message with any validation issues it carries.
function failureText(status, body) {
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("\n");
  }
  if (body && body.error) {
    const lines = [body.error.message || `HTTP ${status}`];
    const result = body.error.details && body.error.details.validation_result;
    if (result) lines.push(...issueLines(result));
    return lines.join("\n");
  }
  return `HTTP ${status}`;
}

function issueLines(result) {
  const lines = [];
  for (const [list, severity] of [[result.errors, "error"], [result.warnings, "warning"]]) {
    for (const i of list || []) {
      const where = (i.loc || []).join(".") || (i.resource_id ? `${i.resource_type} ${i.resource_id}` : "config");
      lines.push(`${severity}  ${i.error_code || i.type}  ${where}: ${i.message || i.msg}`);
    }
  }
  return lines;
}

async function api(method, path, body, namespace) {
  const headers = { Authorization: `Bearer ${key()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (namespace) headers["X-Namespace"] = namespace;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!response.ok) {
    const error = new Error(failureText(response.status, data));
    error.status = response.status;
    throw error;
  }
  return data;
}

function showError(error) {
  const box = $("error");
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = error.message || String(error);
  if (error.status === 401) sessionStorage.removeItem("ferry_api_key");
}

function bar(percent, done) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  return `<div class="bar${done ? " done" : ""}"><div style="width:${p}%"></div><span>${p.toFixed(1)}%</span></div>`;
}

// ---- key -------------------------------------------------------------------------------

function renderKeyForm() {
  $("who").innerHTML = "";
  $("main").innerHTML = `<h1>Sign in</h1>
    <form class="grid" id="key-form">
      <label for="api-key">API key</label><input id="api-key" type="password" placeholder="sk_…" autocomplete="off">
      <span></span><div><button id="save-key" type="submit">Use this key</button>
      <span class="muted">kept in this tab's session storage only</span></div>
    </form>`;
  $("key-form").onsubmit = async (e) => {
    e.preventDefault();
    sessionStorage.setItem("ferry_api_key", $("api-key").value.trim());
    try {
      await api("POST", `${MIGRATIONS}/list`, { limit: 1 });
      showError(null);
      route();
    } catch (error) {
      showError(error);
      renderKeyForm();
    }
  };
}

// ---- namespaces ------------------------------------------------------------------------

async function renderNamespaces() {
  const page = await api("GET", "/v1/namespaces?limit=100");
  const rows = [];
  for (const ns of page.results) {
    const id = ns.namespace_id;
    const count = async (path) => {
      try { return await api("GET", `${path}?limit=100`, undefined, id); } catch (_) { return null; }
    };
    const [buckets, collections, retrievers, taxonomies, clusters] = await Promise.all(
      ["/v1/buckets", "/v1/collections", "/v1/retrievers", "/v1/taxonomies", "/v1/clusters"].map(count));
    const objects = (buckets?.results || []).reduce((n, b) => n + (b.object_count || 0), 0);
    const documents = (collections?.results || []).reduce((n, c) => n + (c.document_count || 0), 0);
    const names = (list, field) => (list?.results || []).map((r) => esc(r[field])).join(", ");
    rows.push(`<tr data-namespace="${esc(ns.namespace_name)}">
      <td><strong>${esc(ns.namespace_name)}</strong><br><span class="muted">${esc(id)}</span></td>
      <td>${buckets?.total_count ?? "-"} <span class="muted">(${objects} objects)</span><br>${names(buckets, "bucket_name")}</td>
      <td>${collections?.total_count ?? "-"} <span class="muted">(${documents} documents)</span><br>${names(collections, "collection_name")}</td>
      <td>${retrievers?.total_count ?? "-"}<br>${names(retrievers, "retriever_name")}</td>
      <td>${taxonomies?.total_count ?? "-"}</td><td>${clusters?.total_count ?? "-"}</td>
      <td><a href="#/new?source=${encodeURIComponent(ns.namespace_name)}">migrate…</a></td></tr>`);
  }
  $("main").innerHTML = `<h1>Namespaces <span class="muted">(${page.total_count})</span></h1>
    <table id="namespaces"><tr><th>Namespace</th><th>Buckets</th><th>Collections</th><th>Retrievers</th>
    <th>Taxonomies</th><th>Clusters</th><th></th></tr>${rows.join("")}</table>`;
}

// ---- migrations list -------------------------------------------------------------------

async function renderMigrations(params) {
  const body = { limit: 100, offset: 0 };
  for (const f of ["status", "migration_type", "source_namespace_id"]) {
    if (params.get(f)) body[f] = params.get(f);
  }
  const page = await api("POST", `${MIGRATIONS}/list`, body);
  const option = (value, current) => `<option${value === current ? " selected" : ""}>${value}</option>`;
  const statuses = ["", "draft", "pending", "validating", "in_progress", "completed", "failed", "cancelled"];
  const types = ["", "copy", "re_extract", "extend"];
  const rows = page.results.map((m) => `<tr class="migration" data-id="${esc(m.migration_id)}">
      <td><a href="#/migrations/${esc(m.migration_id)}">${esc(m.migration_id)}</a></td>
      <td>${esc(m.config.migration_type)}</td><td class="status">${esc(m.status)}</td>
      <td>${bar(m.progress.overall_progress_percent, m.status === "completed")}</td>
      <td>${esc(m.config.source_namespace_id)}</td>
      <td>${esc(m.additional_data?.target_namespace_name || m.config.target_namespace_name || "")}</td>
      <td class="muted">${esc(m.created_at)}</td></tr>`).join("");
  $("main").innerHTML = `<h1>Migrations <span class="muted">(${page.total})</span></h1>
    <form class="filters" id="filters">
      <label>status <select name="status">${statuses.map((s) => option(s, body.status || "")).join("")}</select></label>
      <label>type <select name="migration_type">${types.map((t) => option(t, body.migration_type || "")).join("")}</select></label>
      <label>source <input name="source_namespace_id" value="${esc(body.source_namespace_id || "")}" placeholder="ns_…"></label>
      <button type="submit">Filter</button></form>
    <table id="migrations"><tr><th>Migration</th><th>Type</th><th>Status</th><th>Progress</th>
    <th>Source</th><th>Target</th><th>Created</th></tr>${rows}</table>`;
  $("filters").onsubmit = (e) => {
    e.preventDefault();
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(e.target)) if (v) query.set(k, v);
    location.hash = `#/migrations?${query}`;
  };
  if (page.results.some((m) => !SETTLED.includes(m.status) && m.status !== "draft")) {
    pollTimer = setTimeout(() => guarded(() => renderMigrations(params)), 1500);
  }
}

// ---- dependency graph ------------------------------------------------------------------

// Tiers as columns, dependencies as arrows from the resource that must exist first, and
// each node's position in the execution order in its badge.
function graphSvg(graph) {
  if (!graph || !graph.nodes || graph.nodes.length === 0) return `<p class="muted">No resources.</p>`;
  const order = new Map((graph.execution_order || []).map((id, i) => [id, i + 1]));
  const tiers = new Map();
  for (const n of graph.nodes) {
    if (!tiers.has(n.tier)) tiers.set(n.tier, []);
    tiers.get(n.tier).push(n);
  }
  const W = 220, H = 46, GX = 90, GY = 24, PAD = 30;
  const pos = new Map();
  const tierList = [...tiers.keys()].sort((a, b) => a - b);
  let tallest = 0;
  tierList.forEach((tier, col) => {
    const nodes = tiers.get(tier).sort((a, b) => (order.get(a.resource_id) || 0) - (order.get(b.resource_id) || 0));
    tallest = Math.max(tallest, nodes.length);
    nodes.forEach((n, row) => pos.set(n.resource_id, { x: PAD + col * (W + GX), y: PAD + 20 + row * (H + GY), n }));
  });
  const width = PAD * 2 + tierList.length * (W + GX) - GX;
  const height = PAD * 2 + 20 + tallest * (H + GY);
  const colors = { bucket: "#e0ecff", collection: "#e3f6e8", retriever: "#fff1d6", taxonomy: "#f3e4ff", cluster: "#ffe3e3" };
  let svg = `<svg id="dependency-graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    <defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#6b7280"/></marker></defs>`;
  tierList.forEach((tier, col) => {
    svg += `<text x="${PAD + col * (W + GX)}" y="${PAD}" fill="#374151" font-weight="600">tier ${tier}</text>`;
  });
  for (const { x, y, n } of pos.values()) {
    for (const dep of n.dependencies || []) {
      const from = pos.get(dep);
      if (!from) continue;
      svg += `<path d="M${from.x + W},${from.y + H / 2} C${from.x + W + GX / 2},${from.y + H / 2} ${x - GX / 2},${y + H / 2} ${x - 2},${y + H / 2}"
        fill="none" stroke="#6b7280" stroke-width="1.5" marker-end="url(#arrow)"/>`;
    }
  }
  for (const { x, y, n } of pos.values()) {
    svg += `<g class="node" data-id="${esc(n.resource_id)}">
      <rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="${colors[n.resource_type] || "#eee"}" stroke="#9ca3af"/>
      <circle cx="${x + 16}" cy="${y + H / 2}" r="11" fill="#1d2b4f"/>
      <text x="${x + 16}" y="${y + H / 2 + 4}" text-anchor="middle" fill="#fff">${order.get(n.resource_id) || "?"}</text>
      <text x="${x + 34}" y="${y + 18}" font-weight="600">${esc(n.resource_type)}</text>
      <text x="${x + 34}" y="${y + 34}" fill="#374151">${esc(n.resource_id)}</text></g>`;
  }
  return svg + "</svg>";
}

// ---- migration detail ------------------------------------------------------------------

async function renderMigration(id) {
  const m = await api("GET", `${MIGRATIONS}/${encodeURIComponent(id)}`);
  const p = m.progress || {};
  const data = m.additional_data || {};
  const can = (allowed) => allowed.includes(m.status);
  const stages = (p.stages || []).map((s) => `<tr class="stage" data-stage="${esc(s.stage)}">
      <td>${esc(s.stage)}</td><td>${esc(s.status)}</td>
      <td>${bar(s.progress_percent, s.status === "completed")}</td>
      <td>${s.items_completed}/${s.items_total}${s.items_failed ? ` <span class="bad">(${s.items_failed} failed)</span>` : ""}</td>
      <td class="muted">${esc(s.error_message || "")}</td></tr>`).join("");
  const resources = (p.resources || []).map((r) => `<tr><td>${esc(r.resource_type)}</td><td>${esc(r.resource_id)}</td>
      <td>${esc(r.status)}</td><td>${bar(r.progress_percent, r.status === "completed")}</td></tr>`).join("");
  const verification = Object.entries(data.verification || {}).map(([source, v]) => `<tr>
      <td>${esc(source)}</td><td>${esc(v.target_id)}</td><td>${v.selected}</td><td>${v.written}</td>
      <td>${v.failed}</td><td>${v.skipped}</td><td>${v.target_count}</td>
      <td class="${v.verified === false ? "bad" : "ok"}">${v.verified === false ? "mismatch" : "ok"}</td></tr>`).join("");
  const figure = (v) => (typeof v === "number" ? v.toFixed(3) : "-");
  const benchmark = (data.benchmark || []).map((b) => `<tr><td>${esc(b.retriever_id)}</td><td>${esc(b.target_retriever_id)}</td>
      <td>${b.queries}</td><td>${b.k}</td><td>${figure(b.overlap_at_k)}</td><td>${figure(b.recall_at_k)}</td>
      <td>${figure(b.ndcg_at_k)}</td></tr>`).join("");
  const elapsed = m.started_at && m.completed_at ? (Date.parse(m.completed_at) - Date.parse(m.started_at)) / 1000 : null;
  const written = data.items ? data.items.written : null;
  const deliveries = (data.webhook_deliveries || []).map((d) => `<tr><td>${esc(d.sequence)}</td><td>${esc(d.event)}</td>
      <td>${esc(d.status)}</td><td>${esc(d.attempts)}</td><td>${esc(d.last_status_code ?? "")}</td>
      <td class="muted">${esc(d.last_error || "")}</td></tr>`).join("");
  $("main").innerHTML = `<h1>Migration ${esc(m.migration_id)}</h1>
    <div class="card">
      <div>Type <strong>${esc(m.config.migration_type)}</strong> · status <span id="status" class="status">${esc(m.status)}</span>
        · ${esc(m.config.source_namespace_id)} → ${esc(data.target_namespace_name || m.config.target_namespace_name || "(named at start)")}</div>
      <div id="overall">${bar(p.overall_progress_percent, m.status === "completed")}</div>
      <div class="muted">created ${esc(m.created_at)}${m.completed_at ? ` · ended ${esc(m.completed_at)}`
        : p.estimated_completion ? ` · ETA ${esc(p.estimated_completion)}` : ""}
        ${m.task_id ? ` · task ${esc(m.task_id)}` : ""}</div>
      ${m.error_message ? `<div class="bad">${esc(m.error_message)}</div>` : ""}
      <div class="actions">
        <button id="start" ${can(["draft", "failed"]) ? "" : "disabled"}>Start</button>
        <button id="cancel" ${can(["draft", "validating", "pending", "in_progress"]) ? "" : "disabled"}>Cancel</button>
        <button id="delete" ${can(["draft", "completed", "failed", "cancelled"]) ? "" : "disabled"}>Delete</button>
      </div>
    </div>
    <h2>Stages</h2><table id="stages"><tr><th>Stage</th><th>Status</th><th>Progress</th><th>Items</th><th></th></tr>${stages}</table>
    <h2>Dependency graph</h2><div class="card">${graphSvg(m.dependency_graph)}</div>
    <h2>Resources</h2><table id="resources"><tr><th>Type</th><th>Id</th><th>Status</th><th>Progress</th></tr>${resources}</table>
    <h2>Verification</h2>${verification ? `<table id="verification"><tr><th>Source</th><th>Target</th><th>Selected</th><th>Written</th>
      <th>Failed</th><th>Skipped</th><th>Target holds</th><th></th></tr>${verification}</table>` : `<p class="muted">After finalization.</p>`}
    <h2>Benchmark</h2><div class="card" id="benchmark">${written !== null && elapsed !== null
      ? `Throughput: ${written} items in ${elapsed.toFixed(1)} s (${(elapsed > 0 ? written / elapsed : written).toFixed(0)} items/s)` : `<span class="muted">After the run.</span>`}
      ${benchmark ? `<table><tr><th>Retriever</th><th>Target retriever</th><th>Queries</th><th>k</th><th>overlap@k</th><th>recall@k</th><th>ndcg@k</th></tr>${benchmark}</table>` : ""}</div>
    <h2>Webhook deliveries</h2>${deliveries ? `<table id="deliveries"><tr><th>#</th><th>Event</th><th>Status</th><th>Attempts</th><th>HTTP</th><th>Error</th></tr>${deliveries}</table>`
      : `<p class="muted">${m.config.webhook_url ? "None yet." : "No webhook_url configured."}</p>`}`;
  const act = (button, method, path, body, then) => {
    $(button).onclick = () => guarded(async () => {
      await api(method, path, body);
      showError(null);
      then();
    });
  };
  act("start", "POST", `${MIGRATIONS}/${id}/start`, { force: false }, () => renderMigration(id));
  act("cancel", "POST", `${MIGRATIONS}/${id}/cancel`, { reason: "cancelled from the console" }, () => renderMigration(id));
  act("delete", "DELETE", `${MIGRATIONS}/${id}`, undefined, () => { location.hash = "#/migrations"; });
  if (!SETTLED.includes(m.status) && m.status !== "draft") {
    pollTimer = setTimeout(() => guarded(() => renderMigration(id)), 1000);
  }
}

// ---- new migration ---------------------------------------------------------------------

async function renderNew(params) {
  const namespaces = await api("GET", "/v1/namespaces?limit=100");
  const source = params.get("source") || "";
  $("main").innerHTML = `<h1>New migration</h1>
    <form class="grid" id="new-migration">
      <label for="f-type">Type</label><select id="f-type" name="migration_type">
        <option>copy</option><option>re_extract</option><option>extend</option></select>
      <label for="f-source">Source namespace</label><select id="f-source" name="source_namespace_id">
        ${namespaces.results.map((n) => `<option value="${esc(n.namespace_name)}"${n.namespace_name === source ? " selected" : ""}>${esc(n.namespace_name)}</option>`).join("")}
        <option value="">(none)</option></select>
      <label for="f-target">Target namespace name</label><input id="f-target" name="target_namespace_name" placeholder="generated when empty">
      <label for="f-extractors">Extractors (re_extract)</label><input id="f-extractors" name="extractors" placeholder="text_extractor@v2, …">
      <label for="f-batch">Batch size</label><input id="f-batch" name="batch_size" type="number" placeholder="100">
      <label for="f-workers">Max workers</label><input id="f-workers" name="max_workers" type="number" placeholder="4">
      <label for="f-webhook">Webhook URL</label><input id="f-webhook" name="webhook_url" placeholder="https://…">
      <label for="f-dry">Dry run</label><input id="f-dry" name="dry_run" type="checkbox">
      <label for="f-start">Start immediately</label><input id="f-start" name="start" type="checkbox" checked>
      <span></span><div class="actions"><button id="validate" type="button">Validate</button><button id="create" type="submit">Create</button></div>
    </form><div id="validation"></div>`;
  const config = () => {
    const f = new FormData($("new-migration"));
    const c = { migration_type: f.get("migration_type"), source_namespace_id: f.get("source_namespace_id") };
    if (f.get("target_namespace_name")) c.target_namespace_name = f.get("target_namespace_name");
    if (f.get("webhook_url")) c.webhook_url = f.get("webhook_url");
    if (f.get("dry_run")) c.dry_run = true;
    const extractors = String(f.get("extractors") || "").split(",").map((s) => s.trim()).filter(Boolean);
    if (extractors.length) {
      c.feature_extractors = extractors.map((e) => {
        const [name, version] = e.split("@");
        return version ? { feature_extractor_name: name, version } : { feature_extractor_name: name };
      });
    }
    const batch = {};
    if (f.get("batch_size")) batch.batch_size = Number(f.get("batch_size"));
    if (f.get("max_workers")) batch.max_workers = Number(f.get("max_workers"));
    if (Object.keys(batch).length) c.batch_options = batch;
    return c;
  };
  $("validate").onclick = () => guarded(async () => {
    const answer = await api("POST", `${MIGRATIONS}/validate`, { config: config() });
    const r = answer.validation_result;
    const issues = issueLines(r);
    $("validation").innerHTML = `<div class="card" id="validation-result">
      <div class="${r.valid ? "ok" : "bad"}"><strong>${r.valid ? "Valid" : "Invalid"}</strong>
      · ${Object.entries(r.estimated_resources || {}).map(([k, n]) => `${n} ${esc(k)}(s)`).join(", ")}
      ${r.estimated_duration_seconds != null ? ` · about ${r.estimated_duration_seconds} s` : ""}</div>
      ${issues.length ? `<pre>${esc(issues.join("\n"))}</pre>` : ""}</div>
      <h2>Dependency graph</h2><div class="card">${graphSvg(answer.dependency_graph)}</div>`;
    showError(null);
  });
  $("new-migration").onsubmit = (e) => {
    e.preventDefault();
    guarded(async () => {
      const created = await api("POST", `${MIGRATIONS}/`, { config: config(), start_immediately: $("f-start").checked });
      showError(null);
      location.hash = `#/migrations/${created.migration_id}`;
    });
  };
}

// ---- routing ---------------------------------------------------------------------------

async function guarded(render) {
  try {
    await render();
  } catch (error) {
    showError(error);
    if (error.status === 401) renderKeyForm();
  }
}

function route() {
  clearTimeout(pollTimer);
  if (!key()) { renderKeyForm(); return; }
  $("who").innerHTML = `key ${esc(key().slice(0, 7))}… <button id="sign-out">Forget key</button>`;
  $("sign-out").onclick = () => { sessionStorage.removeItem("ferry_api_key"); route(); };
  const [path, query] = (location.hash.slice(1) || "/migrations").split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("active", path.startsWith(a.getAttribute("href").slice(1)));
  }
  showError(null);
  if (path === "/namespaces") guarded(renderNamespaces);
  else if (path === "/new") guarded(() => renderNew(params));
  else if (path.startsWith("/migrations/")) guarded(() => renderMigration(decodeURIComponent(path.slice(12))));
  else guarded(() => renderMigrations(params));
}

window.addEventListener("hashchange", route);
route();
