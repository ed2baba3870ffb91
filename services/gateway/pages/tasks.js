// /tasks: the signed-in user's tasks (see task-pages.js), filtered and paged.
'use strict';
// The filters live in the address (?status=&type=&offset=), so a filtered list can be linked to.
const LIMIT = 10;
const $ = (id) => document.getElementById(id);
const form = $('filters');

function query() {
  const params = new URLSearchParams(location.search);
  return { status: params.get('status') || '', type: params.get('type') || '',
           offset: Math.max(parseInt(params.get('offset'), 10) || 0, 0) };
}

function go(changes) {
  const wanted = { ...query(), ...changes };
  const params = new URLSearchParams();
  Object.entries(wanted).forEach(([name, value]) => { if (value) params.set(name, value); });
  history.pushState(null, '', `${location.pathname}?${params}`);
  load();
}

function row(task) {
  const tr = TaskPages.element('tr', { 'data-task-id': task.id });
  const link = TaskPages.element('a', { href: `/task/${encodeURIComponent(task.id)}` }, task.id);
  const cells = [link, document.createTextNode(task.type || ''), TaskPages.statusTag(task.status),
                 document.createTextNode(TaskPages.when(task.createdAt)),
                 document.createTextNode(String((task.resultUrls || []).length))];
  tr.append(...cells.map((content) => { const td = TaskPages.element('td'); td.append(content); return td; }));
  return tr;
}

async function load() {
  const { status, type, offset } = query();
  form.status.value = status;
  form.type.value = type;
  const params = new URLSearchParams({ limit: LIMIT, offset });
  if (status) params.set('status', status);
  if (type) params.set('type', type);
  try {
    const page = await TaskPages.api(`/api/task/list?${params}`);
    $('notice').hidden = true;
    const rows = page.tasks.map(row);
    if (!rows.length) {
      rows.push(TaskPages.element('tr', { class: 'empty' }));
      rows[0].append(TaskPages.element('td', { colspan: '5' }, 'No tasks.'));
    }
    $('rows').replaceChildren(...rows);
    const last = Math.min(offset + page.tasks.length, page.total);
    $('range').textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : '';
    $('previous').disabled = offset === 0;
    $('next').disabled = last >= page.total;
  } catch (error) {
    $('notice').hidden = false;
    $('notice').textContent = error.message;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  go({ status: form.status.value, type: form.type.value.trim(), offset: 0 });
});
$('previous').addEventListener('click', () => go({ offset: Math.max(query().offset - LIMIT, 0) }));
$('next').addEventListener('click', () => go({ offset: query().offset + LIMIT }));
window.addEventListener('popstate', load);
load();
