// Shared by the Task API's user pages (/task/{taskId}, /tasks). The pages hold no secret: the
// business's own site opens them with the user's credential (a JWT it issued, or an API key) in
// the URL fragment, `#token=...`, which browsers never send to a server. The page keeps it in
// sessionStorage for this tab only, drops it from the address bar, and sends it as a Bearer token.
'use strict';

const TaskPages = (() => {
  const STORAGE_KEY = 'customPassTaskToken';
  // Each API's own status words (DESIGN.md, "Canonical task status and its dialects").
  const LABELS = { pending: 'Pending', processing: 'Processing', success: 'Succeeded', failed: 'Failed',
                   pendding: 'Pending', completed: 'Completed', unknown: 'Unknown', queued: 'Queued',
                   executing: 'Executing' };

  function credential() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get('token')) {
      sessionStorage.setItem(STORAGE_KEY, fragment.get('token'));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem(STORAGE_KEY);
  }

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }

    // Credentials or the task itself are wrong: asking again cannot help.
    get permanent() {
      return [400, 401, 403, 404].includes(this.status);
    }
  }

  // Any 2xx answer's body, whatever its envelope: `GET /api/task/{id}` answers each task in the
  // dialect of the API that created it (see task-dialects.js). Errors come as `{code, message}`.
  async function lookup(path) {
    const token = credential();
    if (!token) throw new ApiError('Not signed in: open this page from your account.', 401, 4003);
    let answer;
    try {
      answer = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new ApiError(`Network error: ${error.message}`, 0, 'network');
    }
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok || body.success === false) {
      throw new ApiError(body.message || body.error || `HTTP ${answer.status}`, answer.status, body.code);
    }
    return body;
  }

  // The Task API's own routes: `{success: true, data}`.
  async function api(path) {
    const body = await lookup(path);
    if (body.success !== true) throw new ApiError('Unexpected answer from the Task API', 502, 'unexpected');
    return body.data;
  }

  function element(tag, attributes = {}, text = '') {
    const made = document.createElement(tag);
    Object.entries(attributes).forEach(([name, value]) => made.setAttribute(name, value));
    if (text) made.textContent = text;
    return made;
  }

  // `status` is one of the page's four states (its colour); `word`, when given, the task's own
  // status in its API's dialect (its text).
  function statusTag(status, word = status) {
    const tag = element('span', { class: `tag tag-${status}`, 'data-status': status, 'data-word': word });
    if (status === 'processing') tag.append(element('span', { class: 'spinner', 'aria-hidden': 'true' }));
    tag.append(document.createTextNode(LABELS[word] || word));
    return tag;
  }

  // Only web addresses become links or images: a result cannot smuggle in `javascript:`.
  function webUrl(value) {
    try {
      const url = new URL(value);
      return ['http:', 'https:'].includes(url.protocol) ? url.href : null;
    } catch {
      return null;
    }
  }

  function when(stamp) {
    return stamp ? new Date(stamp).toLocaleString() : '—';
  }

  return { api, lookup, element, statusTag, webUrl, when, ApiError };
})();
