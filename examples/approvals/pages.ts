/** The two pages of the approvals service: the outbox (the "mailbox") and the decision page. */
import type { Mail } from "./outbox.js";

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
.mail{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}
.meta{color:#555;font-size:.9rem} a.button,button{display:inline-block;margin-right:.5rem;padding:.4rem .9rem;border-radius:4px;border:0;background:#2563eb;color:#fff;text-decoration:none;font-size:1rem;cursor:pointer}
a.reject,button.reject{background:#b91c1c}</style></head><body>${body}</body></html>`;

export function outboxPage(mails: Mail[]): string {
  const items = mails.map(
    (mail) => `<div class="mail" data-mail="${escapeHtml(mail.id)}">
  <div class="meta">To ${escapeHtml(mail.to)} · ${escapeHtml(mail.at)}</div>
  <h3>${escapeHtml(mail.subject)}</h3>
  <p>${escapeHtml(mail.text.replace(/ Approve: .*$/, ""))}</p>
  <a class="button approve" href="${escapeHtml(mail.links.approve)}">Approve</a>
  <a class="button reject reject" href="${escapeHtml(mail.links.reject)}">Reject</a>
</div>`,
  );
  return page(
    "Outbox",
    `<h1>Outbox</h1><p>E-mails the approvals service sent (none is really sent).</p>${items.join("\n") || "<p>No e-mail yet.</p>"}`,
  );
}

/**
 * The page an e-mail link opens. A GET must not decide anything (mail scanners open links), so
 * the page asks to confirm, then POSTs `{"value": choice}` to the signed resume URL.
 */
export function decisionPage(mail: Mail | undefined, choice: string, resume: string): string {
  const what = mail ? escape(mail.subject.replace(/^Approval needed: /, "")) : "this request";
  return page(
    "Decision",
    `<h1>${choice === "approve" ? "Approve" : "Reject"} ${what}?</h1>
<p id="request">${mail ? escape(mail.text.replace(/ Approve: .*$/, "")) : ""}</p>
<button id="confirm" class="${choice === "reject" ? "reject" : ""}" data-resume="${escapeHtml(resume)}" data-choice="${escapeHtml(choice)}">Confirm</button>
<p id="outcome"></p>
<script>
const button = document.getElementById("confirm");
button.addEventListener("click", async () => {
  button.disabled = true;
  const response = await fetch(button.dataset.resume, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ value: button.dataset.choice }),
  });
  const body = await response.json();
  document.getElementById("outcome").textContent = response.ok
    ? "Thank you: your decision is recorded."
    : "Not recorded: " + (body.detail || body.title);
});
</script>`,
  );
}
