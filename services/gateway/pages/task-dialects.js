// `GET /api/task/{id}` answers a task in the dialect of the API that created it
// (services/gateway/routes/task_lookup.py). This turns each of those shapes into the one the
// task page draws, keeping the task's own status word for its label:
//   Task API       {success: true, data: {id, type, status, progress, resultUrls, errorMessage, ...}}
//   /pass (async and sync)  {task_id, status, progress, result?, error?, model, mode, created_at, ...}
//   worker dispatch         {taskId, status, position? | workerId? | result? | error?, ...At (epoch ms)}
'use strict';

const TaskDialects = (() => {
  // The page's four states (colours, and whether polling stops) for each dialect's words.
  const STATES = {
    typed: { pending: 'pending', processing: 'processing', success: 'success', failed: 'failed' },
    pass: { pendding: 'pending', processing: 'processing', completed: 'success', failed: 'failed',
            unknown: 'processing' },
    dispatch: { queued: 'pending', executing: 'processing', completed: 'success', failed: 'failed' },
  };
  const MAX_URLS = 20;

  function percent(progress, state) {
    return parseInt(progress, 10) || (state === 'success' ? 100 : 0);
  }

  // A free-form result (a `/pass` upstream's or a worker's) shows the web addresses it holds as
  // images; the whole result is also shown as text.
  function urlsIn(value, found = []) {
    if (found.length >= MAX_URLS) return found;
    if (typeof value === 'string') {
      if (/^https?:\/\//i.test(value)) found.push(value);
    } else if (Array.isArray(value)) {
      value.forEach((item) => urlsIn(item, found));
    } else if (value && typeof value === 'object') {
      Object.values(value).forEach((item) => urlsIn(item, found));
    }
    return found.slice(0, MAX_URLS);
  }

  function typed(task) {
    const state = STATES.typed[task.status] || 'processing';
    return {
      api: 'Task API', word: task.status, state, progress: percent(task.progress, state),
      details: [['Type', task.type], ['Input image', task.inputImageUrl, 'link'],
                ['Created', TaskPages.when(task.createdAt)], ['Completed', TaskPages.when(task.completedAt)]],
      error: task.errorMessage, urls: task.resultUrls || [], result: undefined,
    };
  }

  function pass(task) {
    const state = STATES.pass[task.status] || 'processing';
    return {
      api: `CustomPass (${task.mode || 'async'})`, word: task.status, state, progress: percent(task.progress, state),
      details: [['Model', task.model], ['Created', TaskPages.when(task.created_at)],
                ['Completed', TaskPages.when(task.finished_at)]],
      error: task.error, urls: urlsIn(task.result), result: task.result,
    };
  }

  function dispatch(task) {
    const state = STATES.dispatch[task.status] || 'processing';
    const details = [];
    if (task.status === 'queued') details.push(['Tasks ahead in the queue', String(task.position ?? '—')],
                                               ['Queued', TaskPages.when(task.enqueuedAt)]);
    if (task.status === 'executing') details.push(['Worker', task.workerId], ['Started', TaskPages.when(task.startedAt)]);
    if (task.completedAt || task.failedAt) details.push(['Completed', TaskPages.when(task.completedAt || task.failedAt)]);
    return {
      api: 'Worker dispatch', word: task.status, state, progress: state === 'success' ? 100 : 0,
      details, error: task.error, urls: urlsIn(task.result), result: task.result,
    };
  }

  function read(body) {
    if (body.success === true && body.data) return typed(body.data);
    if (body.task_id) return pass(body);
    if (body.taskId) return dispatch(body);
    throw new TaskPages.ApiError('Unexpected answer for this task', 502, 'unexpected');
  }

  return { read, urlsIn };
})();
