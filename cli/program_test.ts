/** sagactl in-process, for everything that needs no Kafka, PostgreSQL or Redis. */
import assert from "node:assert/strict";
import { createContext } from "./context.ts";
import type { Io } from "./output.ts";
import { buildProgram, runSagactl, SAGACTL_VERSION } from "./program.ts";

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

function fakeIo(env: Record<string, string> = {}): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    env: { ...env },
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
    stdinIsTerminal: false,
    confirm: () => Promise.resolve(false),
  };
}

async function run(args: string[], env: Record<string, string> = {}): Promise<Captured> {
  const io = fakeIo(env);
  const code = await runSagactl(args, io);
  return { code, stdout: io.out.join(""), stderr: io.err.join("") };
}

function assertUsageError(result: Captured, message: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, message);
}

/** Every command path of the program, e.g. `["saga", "retry"]`. */
function commandPaths(): string[][] {
  const program = buildProgram(createContext(fakeIo()));
  const paths: string[][] = [];
  const visit = (command: { name(): string; commands: readonly unknown[] }, path: string[]) => {
    paths.push(path);
    for (const sub of command.commands as { name(): string; commands: readonly unknown[] }[]) {
      if (sub.name() !== "help") visit(sub, [...path, sub.name()]);
    }
  };
  visit(program, []);
  return paths;
}

Deno.test("runSagactl() prints the version", async () => {
  for (const flag of ["--version", "-V"]) {
    const result = await run([flag]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${SAGACTL_VERSION}\n`);
  }
});

Deno.test("runSagactl() shows help with examples for every command, with exit code 0", async () => {
  const paths = commandPaths();
  assert.ok(paths.length >= 14, `commands: ${paths.map((p) => p.join(" ")).join(", ")}`);
  for (const path of paths) {
    const result = await run([...path, "--help"]);
    const name = `sagactl ${path.join(" ")}`.trim();
    assert.equal(result.code, 0, name);
    assert.match(result.stdout, new RegExp(`^Usage: ${name}`), name);
    assert.match(result.stdout, /\nExamples:\n {2}\$ .*sagactl /, `${name} has examples`);
  }
  const root = await run(["--help"]);
  assert.match(root.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n(.*\n)? {2}4 /);
});

Deno.test("runSagactl() shows a group's help on stderr with exit code 2 when its command is missing", async () => {
  const result = await run(["saga"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^Usage: sagactl saga /);
});

Deno.test("runSagactl() reports usage errors in one line with exit code 2", async () => {
  assertUsageError(
    await run(["saga", "show", "not-a-uuid"]),
    /'not-a-uuid' is invalid for argument 'id'\. Expected a UUID .*\(see "sagactl saga show --help"\)$/,
  );
  assertUsageError(
    await run(["order", "create", "--item", "MUG-BLUE"]),
    /Option '-i, --item <productId:qty>' argument 'MUG-BLUE' is invalid\. Expected /,
  );
  assertUsageError(
    await run(["saga", "list", "--stauts", "COMPLETED"]),
    /^error: Unknown option '--stauts' \(Did you mean --status\?\) \(see "sagactl saga list --help"\)$/,
  );
  assertUsageError(await run(["frobnicate"]), /^error: Unknown command 'frobnicate'/);
  assertUsageError(await run(["saga", "list", "--status", "DONE"]), /Unknown status "DONE"/);
  assertUsageError(await run(["dlq", "show", "three"]), /Expected <partition>:<offset>/);
  assertUsageError(await run(["completions", "tcsh"]), /Allowed choices are bash, zsh, fish/);
  assertUsageError(await run(["saga", "show"]), /Missing required argument 'id'/);
  assertUsageError(await run(["saga", "show", "a", "b"]), /Too many arguments/);
  assertUsageError(
    await run(["saga", "retry"]),
    /^error: Missing the saga id or order id to retry \(or --all-failed\) \(see "sagactl saga retry --help"\)$/,
  );
  assertUsageError(
    await run(["saga", "retry", "8a1f0c4e-0001-4000-8000-000000000001", "--all-failed"]),
    /Give a saga id or --all-failed, not both/,
  );
  assertUsageError(
    await run(["saga", "retry", "--all-failed", "--wait"]),
    /--wait follows one saga/,
  );
  assertUsageError(await run(["dlq", "replay"]), /Missing the offsets to replay \(or --all\)/);
  assertUsageError(await run(["dlq", "replay", "1:2", "--all"]), /Give offsets or --all, not both/);
});

Deno.test("runSagactl() reports invalid configuration in one line with exit code 1", async () => {
  const result = await run(["saga", "list"], { DATABASE_URL: "mysql://127.0.0.1/sagas" });
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    'error: Invalid configuration: DATABASE_URL must be a postgres: or postgresql:// URL (got "mysql://127.0.0.1/sagas")\n',
  );
});

Deno.test({
  name: "runSagactl() fails fast with exit code 1 when PostgreSQL does not answer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = Date.now();
    const result = await run(["stats"], { DATABASE_URL: "postgres://u:secret@127.0.0.1:1/sagas" });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "error: Cannot reach PostgreSQL at 127.0.0.1:1/sagas (DATABASE_URL): connection refused\n",
      "one line, and no password",
    );
    assert.ok(Date.now() - started < 5_000);
  },
});

Deno.test("runSagactl() adds the stack trace with SAGACTL_DEBUG=1", async () => {
  const result = await run(["saga", "list"], {
    DATABASE_URL: "mysql://127.0.0.1/sagas",
    SAGACTL_DEBUG: "1",
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: Invalid configuration: .*\nConfigError: .*\n\s+at /);
});

Deno.test("runSagactl() prints completion scripts", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const result = await run(["completions", shell]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /sagactl/);
  }
});
