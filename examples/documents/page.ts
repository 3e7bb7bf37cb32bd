/**
 * The web page: it opens a WebSocket to `/async/ws` (its first message is the connection id),
 * uploads the chosen document, starts its processing with `Async-CallbackType: websockets` and
 * that id, and shows "processed" when the completion message arrives.
 */
export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Documents</title>
<style>
body{font:18px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#111}
#state{color:#555;margin:1rem 0} button{font-size:1rem;padding:.5rem 1rem;border-radius:6px;border:0;background:#2563eb;color:#fff}
button:disabled{background:#9ca3af} #result{margin-top:1.5rem;padding:1rem;border-radius:8px;display:none}
#result.done{display:block;background:#dcfce7;border:2px solid #16a34a} #result.failed{display:block;background:#fee2e2;border:2px solid #b91c1c}
</style></head>
<body>
<h1>Document processing</h1>
<p><input type="file" id="file"> <button id="process" disabled>Upload and process</button></p>
<div id="state">Connecting…</div>
<div id="result" role="status"></div>
<script>
const state = document.getElementById("state");
const result = document.getElementById("result");
const button = document.getElementById("process");
let connectionId;
let operationId;

function show(body) {
  if (body.status === "succeeded") {
    const r = body.result;
    result.className = "done";
    result.textContent = "Document " + r.name + " processed: " + r.words + " words, " + r.lines + " lines, " + r.bytes + " bytes (worker pid " + r.processedBy + ").";
    state.textContent = "Done.";
  } else {
    result.className = "failed";
    result.textContent = "Processing " + body.status + (body.error ? ": " + body.error.detail : "");
  }
  button.disabled = false;
}

const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/async/ws");
ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.connectionId) {
    connectionId = message.connectionId;
    state.textContent = "Connected. Choose a document.";
    button.disabled = false;
  } else if (message.operationId === operationId) {
    show(message);
  }
};
ws.onclose = () => { state.textContent = "Disconnected."; button.disabled = true; };

button.onclick = async () => {
  const file = document.getElementById("file").files[0];
  if (!file) { state.textContent = "Choose a document first."; return; }
  button.disabled = true;
  result.className = "";
  state.textContent = "Uploading " + file.name + "…";
  const upload = await fetch("/documents", { method: "PUT", headers: { "x-filename": encodeURIComponent(file.name) }, body: file });
  const { documentId } = await upload.json();
  const started = await fetch("/documents/" + documentId + "/process", {
    method: "POST",
    headers: { "Async-CallbackType": "websockets", "Async-ConnectionId": connectionId },
  });
  const body = await started.json();
  if (started.status === 202) {
    operationId = body.operationId;
    state.textContent = "Processing (operation " + operationId + ")…";
  } else if (started.ok) {
    show({ status: "succeeded", result: body });
  } else {
    show({ status: "refused", error: body });
  }
};
</script>
</body></html>`;
