// The console's dispatch page, kept live: every few seconds it reads /admin/ui/dispatch.json (the
// console session's cookie, no token) and rewrites the figures and the tables' bodies. Every value
// comes from workers or callers (ids, groups, requests, results, errors), so each goes in as text
// (DOM nodes, textContent), never as markup.
"use strict";

(function () {
  const source = document.getElementById("dispatch-data");
  const labels = JSON.parse(source.dataset.labels);
  const $ = (id) => document.getElementById(id);
  // As the page renders them (dispatch_pages.clock): HH:MM:SS UTC from epoch ms or an ISO stamp.
  const clock = (moment) => (typeof moment === "number" ? new Date(moment).toISOString() : String(moment ?? "")).slice(11, 19);

  function node(tag, text, className) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    made.textContent = text ?? "";
    return made;
  }
  const pre = (text) => node("pre", text);
  const json = (value) => pre(JSON.stringify(value ?? null, null, 1));

  function fill(id, rows) {
    const body = $(id).tBodies[0];
    const width = $(id).tHead.rows[0].cells.length;
    const lines = rows.map((values) => {
      const line = document.createElement("tr");
      for (const value of values) {
        const cell = document.createElement("td");
        cell.append(value ?? "");  // a string becomes a text node
        line.append(cell);
      }
      return line;
    });
    if (!lines.length) {
      const none = node("td", labels.none);
      none.colSpan = width;
      lines.push(document.createElement("tr"));
      lines[0].append(none);
    }
    body.replaceChildren(...lines);
  }

  function show(d) {
    $("workers-online").textContent = d.workers.length;
    $("workers-busy").textContent = d.workers.filter((w) => w.busy).length;
    $("queue-depth").textContent = d.groups.reduce((n, g) => n + g.queued, 0);
    $("executing-count").textContent = d.executing.length;
    fill("groups", d.groups.map((g) => [g.group, String(g.online), String(g.busy), String(g.queued)]));
    fill("workers", d.workers.map((w) => [w.workerId, w.group,
      w.busy ? node("span", labels.busy, "tag warn") : node("span", labels.idle, "tag ok"), w.taskId || "", clock(w.connectedAt)]));
    fill("queued", d.queued.map((t) => [t.taskId, t.group, clock(t.enqueuedAt), json(t.request)]));
    fill("executing", d.executing.map((t) => [t.taskId, t.group, t.workerId, clock(t.startedAt), json(t.request)]));
    fill("recent", d.recent.map((t) => [t.taskId, t.group,
      t.status === "failed" ? node("span", labels.failed, "tag bad") : node("span", labels.completed, "tag ok"),
      clock(t.finishedAt), json(t.request), t.status === "failed" ? pre(String(t.error ?? "")) : json(t.result)]));
  }

  async function refresh() {
    try {
      const answer = await fetch(source.dataset.source, {credentials: "same-origin", redirect: "error"});
      if (!answer.ok) throw new Error(String(answer.status));
      show(await answer.json());
      $("dispatch-status").textContent = `${labels.updated} ${new Date().toISOString().slice(11, 19)} UTC`;
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (failure) {
      $("dispatch-status").textContent = `${labels.error} (${failure.message})`;
    }
  }

  setInterval(refresh, Number(source.dataset.refreshMs) || 3000);
})();
