/**
 * Readies a machine for running the stack: infrastructure up, database migrated, demo catalog
 * seeded. Shared by `deno task dev` and `deno task demo`.
 */
import { fileURLToPath } from "node:url";
import { seedCatalog } from "../lib/catalog/mod.ts";
import { COMMON_VARIABLES, loadConfig, withDotEnv } from "../lib/config/mod.ts";
import { closeDb, connectDb, ensureDatabase, runMigrations } from "../lib/db/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** This process's environment with `.env` beneath it, as every process of the stack sees it. */
export function projectEnv(): Record<string, string> {
  const env = withDotEnv(Deno.env.toObject(), `${ROOT}.env`);
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Runs `deno task infra:up`, applies the migrations and seeds the catalog. */
export async function prepareInfra(env: Record<string, string>): Promise<void> {
  const config = loadConfig(COMMON_VARIABLES, env);
  const infra = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/infra.ts", "up"],
    cwd: ROOT,
    env,
    stdin: "null",
  }).output();
  if (!infra.success) throw new Error("Cannot prepare the stack: infra:up failed (see above)");
  await ensureDatabase(config.DATABASE_URL);
  const sql = connectDb(config.DATABASE_URL, { max: 1, applicationName: "prepare" });
  try {
    const { applied } = await runMigrations(sql, `${ROOT}migrations`);
    const seeded = await seedCatalog(sql);
    console.log(`Migrations applied: ${applied.length}; catalog products added: ${seeded}`);
  } finally {
    await closeDb(sql);
  }
}
