/**
 * The order-approval workflow: ask a reviewer, wait for the decision (an external callback, for
 * up to three days), then wait a cooling-off period (a durable timer) before shipping. Each
 * `await` on a DTask is a durable point: the flow's state is stored there and any process sharing
 * the store can carry on from it. Nothing before it runs again.
 */
import { DTask, dasync } from "dtasks";

export interface Order {
  id: string;
  total: number;
  currency: string;
}

export interface Decision {
  approved: boolean;
  by: string;
}

/** How long to wait after approval before shipping (short, so the example finishes quickly). */
export const COOLING_OFF = process.env.DTASKS_EXAMPLE_COOLING_OFF ?? "2s";

/** Prints a line tagged with the process that runs it, so the output shows who did what. */
export function say(text: string): void {
  const who = process.env.DTASKS_EXAMPLE_PROCESS ?? "main";
  console.log(`[${who} · pid ${process.pid}] ${text}`);
}

/** Stands for an email with "approve" and "reject" links that carry the callback id. */
function notifyReviewer(order: Order, callbackId: string): void {
  say(`  reviewer notified about order ${order.id}; callback id ${callbackId}`);
}

export const approveOrder = dasync(async function approveOrder(order: Order) {
  say(`  approveOrder: asking a reviewer to approve order ${order.id} (${order.total} ${order.currency})`);
  const decision = DTask.callback<Decision>((callbackId) => notifyReviewer(order, callbackId));
  const deadline = DTask.delay("3d");
  const first = await DTask.whenAny([decision, deadline]);
  if (first === deadline) {
    say(`  approveOrder: nobody decided within 3 days; order ${order.id} canceled`);
    return { order: order.id, status: "expired" };
  }
  const { approved, by } = await decision;
  if (!approved) {
    say(`  approveOrder: ${by} rejected order ${order.id}`);
    return { order: order.id, status: "rejected", by };
  }
  say(
    `  approveOrder: approved by ${by}; shipping after a ${COOLING_OFF} cooling-off period (a durable timer)`,
  );
  await DTask.delay(COOLING_OFF);
  say(`  approveOrder: cooling-off over; order ${order.id} shipped`);
  return { order: order.id, status: "shipped", approvedBy: by };
});
