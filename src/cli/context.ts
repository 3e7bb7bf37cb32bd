/** What a command may touch of the outside world, so commands can also be run in-process by tests. */
export interface CliContext {
  /** The folder relative paths on the command line are resolved against. */
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
}

export function processContext(): CliContext {
  return {
    cwd: process.cwd(),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}
