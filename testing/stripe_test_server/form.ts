/**
 * Parser for Stripe's `application/x-www-form-urlencoded` parameters with bracket notation, as
 * the `stripe` SDK sends them (`metadata[orderId]=o1`, `payment_method_types[0]=card`) and as
 * curl users write them (`payment_method_types[]=card`).
 *
 * @module
 */

/** A decoded form value: a string, or a nested array or object of them. */
export type FormValue = string | FormValue[] | FormParams;

/** Top-level decoded form parameters. */
export interface FormParams {
  [key: string]: FormValue;
}

type Container = FormValue[] | FormParams;

const KEY_PATTERN = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

/**
 * Parses a form-encoded string (a POST body or a URL query without `?`) into nested params.
 *
 * `a[b]=1` makes an object, `a[]=1` appends to an array, `a[0]=1` sets an array index (holes are
 * closed up at the end). Throws `SyntaxError` on a malformed key, bad percent-encoding, or a key
 * used both as a value and as a container.
 */
export function parseForm(text: string): FormParams {
  const root: FormParams = {};
  const arrays: FormValue[][] = [];
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? "" : pair.slice(eq + 1);
    const key = decodeComponent(rawKey);
    const value = decodeComponent(rawValue);
    const match = KEY_PATTERN.exec(key);
    if (match === null) {
      throw new SyntaxError(`Cannot parse form parameter "${key}": malformed brackets`);
    }
    const base = match[1] as string;
    const segments = [...(match[2] ?? "").matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] as string);
    assign(root, base, segments, value, key, arrays);
  }
  for (const array of arrays) compact(array);
  return root;
}

function assign(
  root: FormParams,
  base: string,
  segments: string[],
  value: string,
  fullKey: string,
  arrays: FormValue[][],
): void {
  let container: Container = root;
  let slot: string = base;
  for (const segment of segments) {
    const wantArray = segment === "" || /^\d+$/.test(segment);
    let next = read(container, slot);
    if (next === undefined) {
      next = wantArray ? [] : {};
      if (Array.isArray(next)) arrays.push(next);
      write(container, slot, next);
    } else if (typeof next === "string" || Array.isArray(next) !== wantArray) {
      throw new SyntaxError(
        `Cannot parse form parameter "${fullKey}": "${slot}" is used with two different shapes`,
      );
    }
    container = next as Container;
    slot = segment === "" ? String((container as FormValue[]).length) : segment;
  }
  const existing = read(container, slot);
  if (existing !== undefined && typeof existing !== "string") {
    throw new SyntaxError(
      `Cannot parse form parameter "${fullKey}": "${slot}" is used with two different shapes`,
    );
  }
  write(container, slot, value);
}

function read(container: Container, slot: string): FormValue | undefined {
  if (Array.isArray(container)) return container[Number(slot)];
  return Object.hasOwn(container, slot) ? container[slot] : undefined;
}

function write(container: Container, slot: string, value: FormValue): void {
  if (Array.isArray(container)) {
    const index = Number(slot);
    if (index > 10_000) {
      throw new SyntaxError(`Cannot parse form parameter index ${slot}: it is above 10000`);
    }
    container[index] = value;
    return;
  }
  // defineProperty keeps keys such as "__proto__" as plain own data properties.
  Object.defineProperty(container, slot, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function compact(array: FormValue[]): void {
  const dense = array.filter(() => true);
  array.length = 0;
  array.push(...dense);
}

function decodeComponent(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll("+", " "));
  } catch {
    throw new SyntaxError(`Cannot parse form component "${raw}": invalid percent-encoding`);
  }
}
