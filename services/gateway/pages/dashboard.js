// /dashboard: worker dispatch at a glance, refreshed every second with the admin token typed in.
// Every value shown comes from workers, callers or upstreams (errors, results, requests, ids), so
// each goes in as text (DOM nodes, textContent), never as markup: none of it can run script
// beside the admin token kept in this tab.
'use strict';

const $ = (id) => document.getElementById(id);
const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '');

function preformatted(text) {
  const pre = document.createElement('pre');
  pre.textContent = text;
  return pre;
}

const json = (value) => preformatted(JSON.stringify(value, null, 1) ?? '');

function marked(text, className) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}

function cell(tag, content) {
  const made = document.createElement(tag);
  made.append(content ?? '');  // a string becomes a text node
  return made;
}

function fill(id, head, rows) {
  const header = document.createElement('tr');
  header.append(...head.map((title) => cell('th', title)));
  const lines = rows.map((values) => {
    const line = document.createElement('tr');
    line.append(...values.map((value) => cell('td', value)));
    return line;
  });
  if (!lines.length) {
    const none = cell('td', 'none');
    none.colSpan = head.length;
    lines.push(cell('tr', none));
  }
  $(id).replaceChildren(header, ...lines);
}

async function refresh() {
  const token = sessionStorage.getItem('adminToken');
  if (!token) return;
  const answer = await fetch('/admin/dispatch', { headers: { Authorization: `Bearer ${token}` } });
  $('status').textContent = answer.ok ? `updated ${new Date().toLocaleTimeString()}` : `error ${answer.status}`;
  if (!answer.ok) return;
  const state = await answer.json();
  fill('workers', ['worker', 'group', 'state', 'task'], state.workers.map((w) =>
    [w.workerId, w.group, w.busy ? marked('busy', 'busy') : marked('online', 'idle'), w.taskId || '']));
  fill('queued', ['task', 'group', 'queued at', 'request'], state.queued.map((t) =>
    [t.taskId, t.group, time(t.enqueuedAt), json(t.request)]));
  fill('executing', ['task', 'group', 'worker', 'started', 'request'], state.executing.map((t) =>
    [t.taskId, t.group, t.workerId, time(t.startedAt), json(t.request)]));
  fill('recent', ['task', 'group', 'status', 'finished', 'request', 'response'], state.recent.map((t) =>
    [t.taskId, t.group, marked(t.status, t.status === 'failed' ? 'failed' : 'completed'), time(t.finishedAt),
     json(t.request), t.status === 'failed' ? preformatted(String(t.error ?? '')) : json(t.result)]));
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('adminToken', $('token').value);
  refresh();
});
setInterval(refresh, 1000);
refresh();
