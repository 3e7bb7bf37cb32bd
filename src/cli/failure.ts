/**
 * A command that failed for a reason it has explained (exit code 1, message only). Anything else a
 * command throws is unexpected and printed with its stack, as a bug report.
 */
export class CommandFailure extends Error {
  override get name(): string {
    return "CommandFailure";
  }
}
