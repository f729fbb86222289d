/** Whether a Docker engine answers here (not just a `docker` client). */

/** Runs `docker info` (10 s at most); true when an engine answered. */
export async function dockerAnswers(): Promise<boolean> {
  try {
    const child = new Deno.Command("docker", {
      args: ["info"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const { success } = await child.status;
    clearTimeout(timer);
    return success;
  } catch {
    return false; // no docker binary
  }
}
