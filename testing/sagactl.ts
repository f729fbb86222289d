/** Runs the real `sagactl` as a subprocess (`deno run -A cli/sagactl.ts …`), as an operator would. */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = fileURLToPath(new URL("../cli/sagactl.ts", import.meta.url));

/** One finished run of sagactl. */
export interface SagactlRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs sagactl with `args` in the environment `env` (no standard input) and collects its output. */
export async function runSagactl(
  env: Record<string, string>,
  args: readonly string[],
): Promise<SagactlRun> {
  const started = Date.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    ms: Date.now() - started,
  };
}
