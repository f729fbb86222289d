/** Plain-text tables for terminals: aligned columns, optional colour per cell. */

/** A cell: text, or text with an ANSI colour code to use on a terminal. */
export type Cell = string | { text: string; colour?: number };

/** Options of `formatTable`. */
export interface TableOptions {
  /** Emit ANSI colours (default false: plain text for pipes and files). */
  colour?: boolean;
}

/** Lays out `rows` under `headers`, columns padded to their widest cell. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TableOptions = {},
): string {
  const text = (cell: Cell | undefined) => typeof cell === "string" ? cell : cell?.text ?? "";
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => [...text(row[column])].length))
  );
  const render = (cells: readonly Cell[], bold = false) =>
    widths.map((width, column) => {
      const cell = cells[column];
      const padded = text(cell).padEnd(width);
      const code = bold ? 1 : typeof cell === "object" ? cell.colour : undefined;
      return options.colour && code !== undefined ? `\x1b[${code}m${padded}\x1b[0m` : padded;
    }).join("  ").trimEnd();
  return [render(headers, true), ...rows.map((row) => render(row))].join("\n");
}
