// A CustomPass worker (seed 003's protocol) in Node.js: connects to `WS /ws?group=`, says
// `ready`, runs one task at a time, answers `task_complete` or `task_error`; pings to keep the
// connection alive and reconnects with backoff when it drops.
//
//   npm ci --prefix examples        (installs `ws`, pinned in examples/package.json)
//   CUSTOMPASS_WORKER_TOKEN=<token> node examples/worker-node.js
//
// Settings (environment): CUSTOMPASS_WS_URL (default ws://localhost:8080/ws), CUSTOMPASS_WORKER_GROUP
// (default "default"), CUSTOMPASS_WORKER_TOKEN (from `POST /admin/worker-tokens`; `make run` prints
// one), CUSTOMPASS_HEARTBEAT_S (default 20), CUSTOMPASS_RECONNECT_MAX_S (longest wait between
// reconnection attempts, default 30). Replace `processTask` with your own work.
//
// The token travels in the `Authorization: Bearer` header, never in the URL, where proxies and
// servers log it (`?token=` is accepted only for browsers, which cannot set the header).
const WebSocket = require('ws');

const URL = process.env.CUSTOMPASS_WS_URL || 'ws://localhost:8080/ws';
const GROUP = process.env.CUSTOMPASS_WORKER_GROUP || 'default';
const TOKEN = process.env.CUSTOMPASS_WORKER_TOKEN || '';
const HEARTBEAT_MS = Number(process.env.CUSTOMPASS_HEARTBEAT_S || 20) * 1000;
const RECONNECT_MAX_MS = Number(process.env.CUSTOMPASS_RECONNECT_MAX_S || 30) * 1000;
const UNAUTHORIZED = 4401; // a bad token: reconnecting would not help

// Your work goes here. This one echoes what it was given.
async function processTask(payload) {
  const { data, model, messages } = payload;
  return { success: true, data, messages, model };
}

let delay = 1000;

function connect() {
  const query = new URLSearchParams({ group: GROUP });
  const ws = new WebSocket(`${URL}?${query}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  let heartbeat;

  ws.on('open', () => {
    console.log(`connected to ${URL} (group ${GROUP})`);
    delay = 1000;
    heartbeat = setInterval(() => ws.send(JSON.stringify({ type: 'ping' })), HEARTBEAT_MS);
  });

  ws.on('message', async (raw) => {
    const message = JSON.parse(raw.toString());
    if (message.type === 'connected') {
      console.log('Worker ID:', message.workerId);
      ws.send(JSON.stringify({ type: 'ready' }));
    } else if (message.type === 'task') {
      console.log('task', message.taskId);
      const started = Date.now();
      try {
        const result = await processTask(message.payload);
        ws.send(JSON.stringify({ type: 'task_complete', taskId: message.taskId, result,
                                 duration: Date.now() - started }));
      } catch (error) {
        ws.send(JSON.stringify({ type: 'task_error', taskId: message.taskId, error: error.message,
                                 duration: Date.now() - started }));
      }
    } else if (message.type === 'error') {
      console.log('gateway:', message.message);
    }
  });

  ws.on('close', (code, reason) => {
    clearInterval(heartbeat);
    if (code === UNAUTHORIZED) {
      console.error(`refused: ${reason}`);
      process.exit(1);
    }
    console.log(`connection closed (${code}); reconnecting in ${delay / 1000}s`);
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  });

  ws.on('error', (error) => console.log('connection error:', error.message)); // 'close' follows
}

connect();
