/**
 * Who approves what: the approvers by id, with their e-mail addresses. The .NET sample kept them
 * in PostgreSQL; a lookup is a lookup, so here it is a map behind an async function.
 */
export interface Approver {
  id: string;
  name: string;
  email: string;
}

const APPROVERS: Approver[] = [
  { id: "550e8400-e29b-41d4-a716-446655440000", name: "Ada Lovelace", email: "ada@example.com" },
  { id: "7d444840-9dc0-11d1-b245-5ffdce74fad2", name: "Grace Hopper", email: "grace@example.com" },
];

export async function findApprover(id: string): Promise<Approver | undefined> {
  return APPROVERS.find((approver) => approver.id === id);
}

export function approvers(): readonly Approver[] {
  return APPROVERS;
}
