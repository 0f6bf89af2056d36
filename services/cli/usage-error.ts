/** A command line the CLI cannot act on: printed with the help of the command (or the overview), exit code 2. */
export class UsageError extends Error {
  /** The help to print after the message; the overview of every command when unset. */
  readonly help: string | undefined;

  constructor(message: string, help?: string) {
    super(message);
    this.name = 'UsageError';
    this.help = help;
  }
}
