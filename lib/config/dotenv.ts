/** A small `.env` reader: `NAME=value` lines, `#` comments, optional quotes, `export ` prefix. */
import { existsSync, readFileSync } from "node:fs";

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/** Parses `.env` text; a line that is neither blank, comment nor assignment is a SyntaxError. */
export function parseDotEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    if (/^\s*(#.*)?$/.test(raw)) return;
    const match = LINE.exec(raw);
    if (!match) throw new SyntaxError(`Cannot parse .env line ${index + 1}: "${raw}"`);
    const [, name, value = ""] = match as unknown as [string, string, string];
    values[name] = unquote(value);
  });
  return values;
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
    const inner = value.slice(1, -1);
    return quote === '"' ? inner.replaceAll("\\n", "\n").replaceAll('\\"', '"') : inner;
  }
  return value.replace(/\s+#.*$/, "");
}

/** The environment with `.env` values underneath: a variable set in `env` always wins. */
export function withDotEnv(
  env: Record<string, string | undefined>,
  dotEnvPath = ".env",
): Record<string, string | undefined> {
  if (!existsSync(dotEnvPath)) return env;
  return { ...parseDotEnv(readFileSync(dotEnvPath, "utf8")), ...env };
}
