/**
 * `deno task db:migrate`: creates the database when missing, then applies the SQL migrations.
 *
 * Environment (then `.env`): `DATABASE_URL` (default: the local one), `MIGRATIONS_DIR` (default:
 * the repo's `migrations/`). Prints each file applied; on error prints one line and exits 1.
 */
import { fileURLToPath } from "node:url";
import { COMMON_VARIABLES, loadConfig, maskSecrets, withDotEnv } from "../lib/config/mod.ts";
import { closeDb, connectDb, ensureDatabase, runMigrations } from "../lib/db/mod.ts";

/** Runs the migrations named by the environment against its database. */
export async function main(): Promise<void> {
  const env = withDotEnv(Deno.env.toObject());
  let databaseUrl: string;
  try {
    databaseUrl = loadConfig({ DATABASE_URL: COMMON_VARIABLES.DATABASE_URL }, env).DATABASE_URL;
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
  const directory = env.MIGRATIONS_DIR ||
    fileURLToPath(new URL("../migrations/", import.meta.url));
  const target = maskSecrets(databaseUrl);
  try {
    if (await ensureDatabase(databaseUrl)) console.log(`Created database ${target}`);
    const sql = connectDb(databaseUrl, { max: 1, applicationName: "sagas-migrate" });
    try {
      const { applied, skipped } = await runMigrations(sql, directory);
      for (const fileName of applied) console.log(`Applied ${fileName}`);
      console.log(
        `Migrations of ${target}: ${applied.length} applied, ${skipped} already applied`,
      );
    } finally {
      await closeDb(sql);
    }
  } catch (error) {
    const raw = error instanceof Error ? error.message || String(error) : String(error);
    const message = maskSecrets(raw.replace(/\s*\n\s*/g, " "));
    // Errors of the runner already say what was being done; others get it said for them.
    console.error(
      message.startsWith("Cannot ")
        ? `${message} (database ${target})`
        : `Cannot migrate ${target}: ${message}`,
    );
    Deno.exit(1);
  }
}

if (import.meta.main) await main();
