/**
 * The approval workflow: e-mail the approver approve/reject links, then wait for the click or
 * for the timeout, whichever comes first. The flow is stored at the `await` and the process is
 * free; the click (a resumption request) or the timer resumes it, in this process or any other
 * sharing the store, even after a restart. Nothing before the `await` runs again.
 */
import { randomUUID } from "node:crypto";
import { DTask, dasync } from "dtasks";
import type { Approver } from "./directory.js";
import type { Outbox } from "./outbox.js";

export interface ApprovalRequest {
  requestor: string;
  category: string;
  resourceUri: string;
}

export type Decision = "approve" | "reject";

export interface ApprovalResult {
  outcome: "approved" | "rejected" | "expired";
  approver: string;
  resourceUri: string;
}

/** How long an approver has to decide: 7 days, or `APPROVAL_TIMEOUT` (e.g. "5s") for a demo. */
export const APPROVAL_TIMEOUT = process.env.APPROVAL_TIMEOUT ?? "7d";

/** What the mail callback needs from the service; set once the service is listening. */
export interface Mailer {
  outbox: Outbox;
  /** The public URL of the service, for the links. */
  publicUrl: string;
  /** The signed URL that resumes a callback. */
  resumeUrl(callbackId: string): string;
}

let mailer: Mailer | undefined;

export function configureMailer(config: Mailer): void {
  mailer = config;
}

/** Stands for an e-mail: links to the decision page, which POSTs `{"value": "approve"}` to resume. */
function sendApprovalMail(request: ApprovalRequest, approver: Approver, callbackId: string): void {
  if (!mailer) throw new Error("configureMailer() was not called");
  const resume = mailer.resumeUrl(callbackId);
  const id = randomUUID();
  const link = (choice: Decision) =>
    `${mailer!.publicUrl}/decision?mail=${id}&choice=${choice}&resume=${encodeURIComponent(resume)}`;
  const links = { approve: link("approve"), reject: link("reject") };
  mailer.outbox.send({
    id,
    at: new Date().toISOString(),
    to: approver.email,
    subject: `Approval needed: ${request.category} access to ${request.resourceUri}`,
    text: `Hello ${approver.name}, ${request.requestor} asks for ${request.category} access to ${request.resourceUri}. Approve: ${links.approve} Reject: ${links.reject} (the request expires in ${APPROVAL_TIMEOUT}).`,
    links,
  });
  console.log(
    `[approvals] e-mailed ${approver.email}: approve or reject ${request.requestor}'s request (see /outbox)`,
  );
}

export const approval = dasync(async function approval(request: ApprovalRequest, approver: Approver) {
  const decision = DTask.callback<Decision>((callbackId) => sendApprovalMail(request, approver, callbackId));
  const timeout = DTask.delay(APPROVAL_TIMEOUT);
  const winner = await DTask.whenAny([decision, timeout]);
  const outcome = winner === timeout ? "expired" : decision.result === "approve" ? "approved" : "rejected";
  console.log(`[approvals] ${request.requestor}'s request for ${request.resourceUri}: ${outcome}`);
  const result: ApprovalResult = { outcome, approver: approver.email, resourceUri: request.resourceUri };
  return result;
});
