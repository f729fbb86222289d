/**
 * sagactl's command tree and its error policy: commander parses, each command group adds its
 * commands, and every way of ending becomes an exit code (see `EXIT_CODES`) with errors as one
 * line on stderr.
 */
import {
  Argument,
  Command,
  type CommanderError,
  type CommandUnknownOpts,
} from "@commander-js/extra-typings";
import { EVENTS, isEventType } from "../lib/messages/mod.ts";
import { SAGA_STATUSES } from "../lib/saga/mod.ts";
import { TEST_PAYMENT_METHODS } from "../lib/orders/payment_methods.ts";
import { catalogCommands } from "./catalog_commands.ts";
import { type CommandLike, completionScript, completionTree, SHELLS } from "./completions.ts";
import { consoleCommand } from "./console/command.ts";
import { type CliContext, createContext } from "./context.ts";
import { dlqCommands } from "./dlq_commands.ts";
import { describeError, EXIT_CODES, exitCodeOf, oneLine, UsageError } from "./errors.ts";
import { examples } from "./help.ts";
import { orderCommands } from "./order_commands.ts";
import { COLOURS, colourWanted, type Io, printer } from "./output.ts";
import { sagaCommands } from "./saga_commands.ts";
import { statsCommand } from "./stats_command.ts";

/** sagactl's version, as `--version` prints it. */
export const SAGACTL_VERSION = "0.1.0";

const ROOT_HELP = `
Exit codes:
  0  done (with --wait: the saga COMPLETED; with saga retry --wait: it was COMPENSATED)
  1  operational error: unknown id, refused action, Kafka/PostgreSQL/Redis unreachable
  2  usage error: unknown command or option, malformed argument (bad UUID, --item, ...)
  3  with --wait: the saga ended otherwise (COMPENSATED, FAILED, COMPENSATION_FAILED or
     CANCELLED; the output says which)
  4  with --wait: the --timeout passed before the saga ended

Configuration comes from the environment and .env, like the services: KAFKA_BROKERS,
DATABASE_URL, REDIS_URL, the saga policy (STEP_TIMEOUT, COMPENSATION_RETRY_*,
MAX_COMPENSATION_RETRIES) and SAGACTL_CONNECT_TIMEOUT (default 3s). Colours only on a
terminal; NO_COLOR or --no-color turns them off. SAGACTL_DEBUG=1 adds stack traces to errors.
${
  examples([
    "sagactl seed",
    "sagactl order create --item MUG-BLUE:2 --wait",
    "sagactl saga list --status COMPENSATION_FAILED",
    "sagactl saga show <sagaId|orderId>",
    "sagactl saga retry <sagaId|orderId> --wait",
    "sagactl dlq list",
    "sagactl dlq replay 3:17",
    "sagactl stats --json",
    "sagactl console            # the same views and actions as a web page on 127.0.0.1:9100",
    "source <(sagactl completions bash)",
  ])
}`;

/** Builds the whole command tree on `ctx`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("sagactl")
    .description(
      "Operate the order sagas: place orders, inspect and repair sagas, replay dead letters",
    )
    .version(SAGACTL_VERSION, "-V, --version", "output the version number")
    .option("--no-color", "no colours, even on a terminal (like NO_COLOR=1)")
    .addHelpText("after", ROOT_HELP);
  program.hook("preAction", () => {
    if (program.opts().color === false) ctx.io.env.NO_COLOR = "1";
  });
  for (const command of catalogCommands(ctx)) program.addCommand(command);
  program.addCommand(orderCommands(ctx));
  program.addCommand(sagaCommands(ctx));
  program.addCommand(dlqCommands(ctx));
  program.addCommand(statsCommand(ctx));
  program.addCommand(consoleCommand(ctx));
  program.addCommand(completionsCommand(ctx, program));
  return program;
}

function completionsCommand(ctx: CliContext, program: Command): CommandUnknownOpts {
  return new Command("completions")
    .description("Print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      examples([
        "source <(sagactl completions bash)        # in ~/.bashrc",
        'sagactl completions zsh > "${fpath[1]}/_sagactl"',
        "sagactl completions fish > ~/.config/fish/completions/sagactl.fish",
      ]),
    )
    .action((shell) => {
      const tree = completionTree(program as unknown as CommandLike, {
        optionValues: {
          "--status": SAGA_STATUSES,
          "--payment-method": TEST_PAYMENT_METHODS,
          "--type": Object.keys(EVENTS).filter(isEventType),
        },
        positionals: { completions: SHELLS },
      });
      ctx.io.stdout(completionScript(shell, tree, "sagactl"));
    });
}

/** Thrown by commander's exit hook: how commander wanted to end, and in which command. */
class CommanderExit extends Error {
  constructor(readonly error: CommanderError, readonly commandPath: string) {
    super(error.message);
  }
}

/** Applies sagactl's output and exit policy to `command` and every subcommand. */
function configure(command: Command, io: Io, path: string[]): void {
  command
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: () => {}, // printed by runSagactl as one line
    })
    .showSuggestionAfterError(true)
    .exitOverride((error) => {
      throw new CommanderExit(error, path.join(" "));
    });
  for (const sub of command.commands) {
    configure(sub as unknown as Command, io, [...path, sub.name()]);
  }
}

/** Runs sagactl with `args` (without the program name) and resolves with the exit code. */
export async function runSagactl(args: readonly string[], io: Io): Promise<number> {
  const ctx = createContext(io);
  const program = buildProgram(ctx);
  configure(program, io, ["sagactl"]);
  try {
    await program.parseAsync([...args], { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderExit) return commanderExitCode(error, io);
    printError(io, describeError(error), error instanceof UsageError ? error.command : undefined);
    if (io.env.SAGACTL_DEBUG === "1" && error instanceof Error) io.stderr(`${error.stack}\n`);
    return exitCodeOf(error);
  } finally {
    await ctx.close();
  }
}

function commanderExitCode(exit: CommanderExit, io: Io): number {
  const { code, message } = exit.error;
  if (code === "commander.helpDisplayed" || code === "commander.version") return EXIT_CODES.ok;
  // Help shown because a group was called without its subcommand.
  if (code === "commander.help") return EXIT_CODES.usage;
  const text = oneLine(message.replace(/^error:\s*/i, ""));
  printError(
    io,
    text.charAt(0).toUpperCase() + text.slice(1),
    exit.commandPath.replace(/^sagactl ?/, ""),
  );
  return EXIT_CODES.usage;
}

function printError(io: Io, message: string, command: string | undefined): void {
  const err = printer(io.stderr, colourWanted(io.env, io.stderrIsTerminal));
  const hint = command === undefined
    ? ""
    : ` (see "sagactl ${command ? `${command} ` : ""}--help")`;
  err.line(`${err.paint("error:", COLOURS.red)} ${message}${hint}`);
}
