/**
 * `deno task setup`: everything a fresh checkout needs before `deno task infra:up`.
 *
 * 1. Copies `.env.example` to `.env` when there is no `.env` (an existing one is left alone).
 * 2. `deno install`: fills node_modules/ from deno.lock.
 * 3. Without a Docker engine that answers: `bash scripts/kafka_local.sh fetch`, the broker jars
 *    from Maven Central (with one, Docker Compose pulls its images at `infra:up`).
 *
 * Idempotent: a second run changes nothing and says so. On error prints one line and exits 1.
 */
import { dockerAnswers } from "../testing/docker.ts";
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const ENV_EXAMPLE = `${ROOT}/.env.example`;
const ENV_FILE = `${ROOT}/.env`;

/** Runs the three steps in order and prints what each did. */
export async function main(): Promise<void> {
  const started = performance.now();
  await ensureDotEnv();
  await step("deno install: node_modules from deno.lock", Deno.execPath(), ["install"]);
  if (await dockerAnswers()) {
    say('a Docker engine answers: the Compose images are pulled by "deno task infra:up"');
  } else {
    await step("no Docker engine answers: Kafka broker jars", "bash", [
      "scripts/kafka_local.sh",
      "fetch",
    ]);
  }
  say(`done in ${seconds(started)}; next: "deno task infra:up", then "deno task db:migrate"`);
}

/** Copies `.env.example` to `.env` unless `.env` exists. */
async function ensureDotEnv(): Promise<void> {
  try {
    const example = await Deno.readFile(ENV_EXAMPLE);
    // createNew: a .env that exists (or appears meanwhile) is never overwritten.
    await Deno.writeFile(ENV_FILE, example, { createNew: true });
    say(".env created from .env.example (every value commented out: the defaults apply)");
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new Error(`Cannot create .env from .env.example: ${messageOf(error)}`);
    }
    say(".env exists: left as it is");
  }
}

/** Runs a command in the repository root with inherited output; throws when it fails. */
async function step(title: string, command: string, args: string[]): Promise<void> {
  const started = performance.now();
  say(`${title}...`);
  const { code } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output().catch((error) => {
    throw new Error(`Cannot run ${command}: ${messageOf(error)}`);
  });
  if (code !== 0) {
    throw new Error(`Cannot set up: ${title} failed (exit code ${code})`);
  }
  say(`${title}: done in ${seconds(started)}`);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function say(line: string): void {
  console.log(`setup: ${line}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`setup: ${messageOf(error)}`);
    Deno.exit(1);
  }
}
