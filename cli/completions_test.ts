import assert from "node:assert/strict";
import { createContext } from "./context.ts";
import { type CommandLike, completionScript, completionTree, type Shell } from "./completions.ts";
import type { Io } from "./output.ts";
import { buildProgram } from "./program.ts";

function script(shell: Shell): string {
  const io: Io = {
    env: {},
    stdout: () => {},
    stderr: () => {},
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
    stdinIsTerminal: false,
    confirm: () => Promise.resolve(false),
  };
  const program = buildProgram(createContext(io)) as unknown as CommandLike;
  const tree = completionTree(program, {
    optionValues: { "--status": ["COMPLETED", "COMPENSATION_FAILED"] },
    positionals: { completions: ["bash", "zsh", "fish"] },
  });
  return completionScript(shell, tree, "sagactl");
}

async function shellAvailable(shell: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(shell, { args: ["-c", "exit 0"] }).output();
    return success;
  } catch {
    return false;
  }
}

/** Runs bash completion for the words typed so far (the last one being completed). */
async function completeInBash(words: string[]): Promise<string[]> {
  const program = `${script("bash")}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${words.length - 1}
_sagactl
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const output = await new Deno.Command("bash", { args: ["-c", program] }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).split("\n").filter((line) => line !== "");
}

Deno.test("completionTree() lists every command and option of the program", () => {
  const bash = script("bash");
  for (
    const word of ["seed", "product", "order", "saga", "dlq", "stats", "console", "completions"]
  ) {
    assert.match(bash, new RegExp(`\\b${word}\\b`), word);
  }
  assert.match(
    bash,
    /'saga retry'\) words='--all-failed --dry-run --rate --yes --wait --timeout --json --help'/,
  );
  assert.doesNotMatch(bash, /'help'/, "commander's help command is left out");
  assert.match(bash, /'console'\) words='--port --help'/);
});

Deno.test("completionScript() makes bash complete commands, options and option values", async () => {
  if (!await shellAvailable("bash")) return;
  assert.deepEqual(await completeInBash(["sagactl", "sa"]), ["saga"]);
  assert.deepEqual(await completeInBash(["sagactl", "saga", ""]), [
    "list",
    "show",
    "retry",
    "--help",
  ]);
  assert.deepEqual(await completeInBash(["sagactl", "saga", "list", "--st"]), ["--status"]);
  assert.deepEqual(await completeInBash(["sagactl", "saga", "list", "--status", "COMPE"]), [
    "COMPENSATION_FAILED",
  ]);
  assert.deepEqual(await completeInBash(["sagactl", "saga", "list", "-n", ""]), []);
  assert.deepEqual(await completeInBash(["sagactl", "completions", "z"]), ["zsh"]);
  assert.deepEqual(await completeInBash(["sagactl", "con"]), ["console"]);
  assert.deepEqual(await completeInBash(["sagactl", "console", "--p"]), ["--port"]);
  assert.deepEqual(await completeInBash(["sagactl", "console", "--port", ""]), []);
  assert.deepEqual(await completeInBash(["sagactl", "dlq", "replay", "3:17", "--f"]), ["--force"]);
});

for (
  const [shell, args] of [["bash", ["-n"]], ["zsh", ["-n"]], ["fish", ["--no-execute"]]] as const
) {
  // A shell that is not installed shows as "ignored" in the summary (CI installs all three).
  const available = await shellAvailable(shell);
  Deno.test({
    name: `completionScript() writes a ${shell} script that ${shell} parses${
      available ? "" : ` (${shell} not installed)`
    }`,
    ignore: !available,
    async fn() {
      const child = new Deno.Command(shell, { args: [...args], stdin: "piped", stderr: "piped" })
        .spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(script(shell)));
      await writer.close();
      const { success, stderr } = await child.output();
      assert.ok(success, `${shell}: ${new TextDecoder().decode(stderr)}`);
    },
  });
}

Deno.test("completionScript() writes fish conditions per command path", () => {
  const fish = script("fish");
  assert.match(fish, /^complete -c sagactl -f$/m);
  assert.match(
    fish,
    /^complete -c sagactl -n '__fish_use_subcommand' -a saga -d 'Inspect and repair sagas'$/m,
  );
  assert.match(
    fish,
    /^complete -c sagactl -n '__fish_seen_subcommand_from saga; and __fish_seen_subcommand_from list' -l status -s s -x -a 'COMPLETED COMPENSATION_FAILED' -d /m,
  );
  const zsh = script("zsh");
  assert.match(zsh, /^#compdef sagactl$/m);
  assert.match(zsh, /'saga:Inspect and repair sagas'/);
});
