/**
 * How a configuration value is shown in a message: the one place that decides what of it may be
 * printed. A variable named as a secret (`…_SECRET…`, `…_KEY`, `…_PASSWORD`, `…_TOKEN`) is never
 * echoed; any other value is echoed with every password, key or token in it masked, whether the
 * value parses as a URL or not (a malformed URL is exactly what gets echoed).
 */

const MASK = "***";

// Whole words of a variable name that mark its value as a secret.
const SECRET_NAME_WORDS = new Set([
  "SECRET",
  "KEY",
  "PASSWORD",
  "PASSWD",
  "PASS",
  "PWD",
  "TOKEN",
  "CREDENTIAL",
  "CREDENTIALS",
  "PRIVATE",
  "AUTH",
]);

// `user:password@` after `scheme://`, the start, a space, a comma or a quote. The password runs
// to the last `@` of the line, so one holding an unescaped `@`, a space or a `/` (a malformed
// URL) is masked whole; `scheme://` itself is not taken for a user and a password.
const USERINFO_PASSWORD = /(^|[\s,"'=]|\/\/)([^\s/?#@:,"']*):(?!\/\/).*@/g;

// `?password=…`, `&sslpassword=…`, `;api_key=…`: a parameter whose name says it holds a secret.
const SECRET_PARAMETER =
  /([?&;][^\s=&;#]*(?:pass|pwd|secret|token|key|auth|credential)[^\s=&;#]*=)[^\s&;#]*/gi;

// Stripe keys (secret, restricted, webhook secrets) wherever they appear.
const STRIPE_KEY = /\b((?:sk|rk|pk)_(?:test|live)_|whsec_)[A-Za-z0-9]+/g;

/** True when a variable's name says it holds a secret, so its value is never shown. */
export function isSecretVariable(name: string): boolean {
  return name.toUpperCase().split(/[^A-Z0-9]+/).some((word) => SECRET_NAME_WORDS.has(word));
}

/** `text` with every password (URL user info), secret query parameter and Stripe key masked. */
export function maskSecrets(text: string): string {
  return text
    .replace(USERINFO_PASSWORD, (_, before: string, user: string) => `${before}${user}:${MASK}@`)
    .replace(SECRET_PARAMETER, (_, parameter: string) => `${parameter}${MASK}`)
    .replace(STRIPE_KEY, (_, prefix: string) => `${prefix}${MASK}`);
}

/**
 * How the value of variable `name` is shown after a problem with it: `(got "…")` with secrets
 * masked, or `(value not shown)` for a secret variable.
 */
export function describeValue(name: string, value: string): string {
  return isSecretVariable(name) ? "(value not shown)" : `(got "${maskSecrets(value)}")`;
}
