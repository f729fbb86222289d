/**
 * HTML built safely: `html` is a tagged template that escapes every interpolated value unless it
 * is `Html` already (made by `html` itself or, for trusted constants only, by `trusted`). Arrays
 * are joined, `null`, `undefined` and `false` print nothing.
 */

/** Markup that is safe to write as is. */
export class Html {
  /** Wraps markup known to be safe. */
  constructor(readonly text: string) {}

  /** The markup. */
  toString(): string {
    return this.text;
  }
}

/** A value an `html` template may interpolate. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` with the five characters that matter in HTML text and attributes escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** The template with each interpolation escaped (or inserted as is when it is `Html`). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** Marks a constant written in this code base (never data) as markup. */
export function trusted(markup: string): Html {
  return new Html(markup);
}
