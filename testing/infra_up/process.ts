/**
 * Processes and probes for the infrastructure bring-up (`deno task infra:*`): commands run in
 * the repository root, PATH lookups, and the one-line output of the scripts.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root, without a trailing slash. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** Runs a command with inherited output; throws `failure` with its exit code when it fails. */
export async function run(
  command: string,
  args: string[],
  failure: string,
  env: Record<string, string> = {},
): Promise<void> {
  const code = await status(command, args, env).catch((error) => {
    throw new Error(`${failure}: ${messageOf(error)}`);
  });
  if (code !== 0) throw new Error(`${failure}: ${command} exited with ${code}`);
}

/** Runs a command in the repository root with inherited output; resolves with its exit code. */
export async function status(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  const { code } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

/** Runs a command in the repository root; resolves with what it printed on stdout. */
export async function capture(command: string, args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout);
}

/** True when an executable of that name is on PATH (or in the sbin directories). */
export async function onPath(name: string): Promise<boolean> {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"]);
  for (const dir of dirs) {
    if (dir !== "" && await exists(`${dir}/${name}`)) return true;
  }
  return false;
}

/** True when something exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `path` relative to the repository root when it lies inside it. */
export function relative(path: string): string {
  return path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : path;
}

/** The message of an error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Prints one line prefixed `infra:`. */
export function say(line: string): void {
  console.log(`infra: ${line}`);
}
