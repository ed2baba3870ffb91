// /task/{taskId}: one task of the signed-in user (see task-pages.js), whichever API created it
// (task-dialects.js), polled until it finishes.
'use strict';
// Polls every 3 s while the task is not finished; stops when it is, pauses while the page is
// hidden, and backs off (doubling, up to a minute) while the API cannot be reached.
const POLL_MS = 3000, MAX_BACKOFF_MS = 60000, TERMINAL = ['success', 'failed'];
const taskId = decodeURIComponent(location.pathname.split('/').pop());
const $ = (id) => document.getElementById(id);
let timer = null, loading = false, failures = 0, finished = false;

function polling(state) { document.body.dataset.polling = state; }

function detail([name, value, kind]) {
  const shown = TaskPages.element('dd');
  const link = kind === 'link' ? TaskPages.webUrl(value) : null;
  if (link) shown.append(TaskPages.element('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, value));
  else shown.textContent = value ?? '—';
  return [TaskPages.element('dt', {}, name), shown];
}

function show(task) {
  $('api').textContent = task.api;
  $('status').replaceChildren(TaskPages.statusTag(task.state, task.word));
  $('progress').value = task.progress;
  $('progress-text').textContent = `${task.progress}%`;
  $('details').replaceChildren(...task.details.flatMap(detail));
  $('error').hidden = !task.error;
  $('error').textContent = task.error || '';
  const urls = task.urls.map(TaskPages.webUrl).filter(Boolean);
  $('results-title').hidden = urls.length === 0;
  $('results').replaceChildren(...urls.map((url, index) => {
    const caption = TaskPages.element('figcaption');
    caption.append(TaskPages.element('a', { href: url, download: '', target: '_blank', rel: 'noopener noreferrer',
                                            class: 'download' }, `Download ${index + 1}`));
    const figure = TaskPages.element('figure');
    figure.append(TaskPages.element('img', { src: url, alt: `result ${index + 1}` }), caption);
    return figure;
  }));
  // A free-form result is shown as text, never as markup.
  const hasResult = task.result !== undefined && task.result !== null;
  $('result-title').hidden = $('result').hidden = !hasResult;
  $('result').textContent = hasResult ? JSON.stringify(task.result, null, 2) : '';
  $('task').hidden = false;
}

function notice(text) {
  $('notice').hidden = !text;
  $('notice').textContent = text || '';
}

function schedule(delay) {
  clearTimeout(timer);
  timer = null;
  if (finished) return polling('done');
  if (document.hidden) return polling('paused');
  polling('on');
  timer = setTimeout(refresh, delay);
}

async function refresh() {
  loading = true;
  try {
    const task = TaskDialects.read(await TaskPages.lookup(`/api/task/${encodeURIComponent(taskId)}`));
    failures = 0;
    notice('');
    show(task);
    finished = TERMINAL.includes(task.state);
    schedule(POLL_MS);
  } catch (error) {
    if (error.permanent) {
      finished = true;
      notice(error.message);
      return schedule(0);
    }
    failures += 1;
    const delay = Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS);
    notice(`${error.message} — retrying in ${Math.round(delay / 1000)} s`);
    schedule(delay);
  } finally {
    loading = false;
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && !finished && timer === null && !loading) refresh();
  else if (document.hidden) schedule(0);
});
$('task-id').textContent = taskId;
refresh();
