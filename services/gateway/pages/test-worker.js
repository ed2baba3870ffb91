// /test-worker: a worker driven by hand, over the same WebSocket a real worker uses. A task's
// payload comes from a caller: it is shown as text, and the page is built from DOM nodes only.
'use strict';

const $ = (id) => document.getElementById(id);
let socket = null;
const state = (text) => { $('state').textContent = text; };

function made(tag, attributes = {}, text = '') {
  const element = document.createElement(tag);
  Object.entries(attributes).forEach(([name, value]) => element.setAttribute(name, value));
  element.textContent = text;
  return element;
}

function answer(taskId, type, box) {
  const text = box.querySelector('textarea').value;
  let message;
  if (type === 'task_complete') {
    let result;
    try { result = JSON.parse(text); } catch (e) { result = text; }
    message = { type, taskId, result, duration: 0 };
  } else {
    message = { type, taskId, error: text || 'failed by hand', duration: 0 };
  }
  socket.send(JSON.stringify(message));
  box.remove();
}

function show(task) {
  const box = made('div', { class: 'task' });
  box.dataset.taskId = task.taskId;
  const complete = made('button', { class: 'complete' }, 'Complete');
  const fail = made('button', { class: 'fail' }, 'Fail');
  complete.addEventListener('click', () => answer(task.taskId, 'task_complete', box));
  fail.addEventListener('click', () => answer(task.taskId, 'task_error', box));
  box.append(made('b', { class: 'task-id' }, task.taskId), made('pre', {}, JSON.stringify(task.payload, null, 1)),
             made('textarea', { placeholder: 'result (JSON) or error' }), made('br'), complete, ' ', fail);
  $('tasks').appendChild(box);
}

$('connect').addEventListener('submit', (event) => {
  event.preventDefault();
  if (socket) socket.close();
  const query = new URLSearchParams({ group: $('group').value, token: $('token').value });
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?${query}`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'connected') {
      $('worker').textContent = message.workerId;
      state('ready');
      socket.send(JSON.stringify({ type: 'ready' }));
    } else if (message.type === 'task') {
      show(message);
    }
  };
  socket.onclose = (event) => state(`disconnected (${event.code}${event.reason ? ': ' + event.reason : ''})`);
});
