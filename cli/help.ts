/** Help texts shared by sagactl's commands. */

/** An "Examples:" block for `addHelpText("after", …)`: one `$ sagactl …` line per example. */
export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join("\n")}\n`;
}

/** The description of `--json` on a command whose JSON has `shape`. */
export function jsonHelp(shape: string): string {
  return `print JSON for scripts instead of a table: ${shape}`;
}
