/**
 * The import directions of the layout (STYLE.md "Our layout"), as a pure check over a list of
 * source files and their relative import specifiers: `services → lib`, `cli → lib`,
 * `testing → lib`, `tools → testing, lib`, `scripts → anything`; services never import each
 * other. Tests (`*_test.ts`) beside the code may also use `testing/`, never `tools/`.
 *
 * @module
 */
import { posix } from "node:path";

/** One source file: its path from the repository root and the specifiers it imports. */
export interface SourceFile {
  path: string;
  imports: readonly string[];
}

/** An import that goes against the layout's direction, and the rule it breaks. */
export interface ImportViolation {
  from: string;
  to: string;
  rule: string;
}

const TOP_LEVEL = ["lib", "services", "cli", "testing", "tools", "scripts"] as const;
type Area = typeof TOP_LEVEL[number];

const ALLOWED: Readonly<Record<Area, readonly Area[]>> = {
  lib: ["lib"],
  services: ["services", "lib"],
  cli: ["cli", "lib"],
  testing: ["testing", "lib"],
  tools: ["tools", "testing", "lib"],
  scripts: ["scripts", "tools", "testing", "lib", "services", "cli"],
};

function areaOf(path: string): Area | undefined {
  const top = path.split("/")[0];
  return TOP_LEVEL.find((area) => area === top);
}

function isTest(path: string): boolean {
  return path.endsWith("_test.ts");
}

function allowedAreas(path: string, area: Area): readonly Area[] {
  const allowed = ALLOWED[area];
  if (!isTest(path) || area === "tools" || area === "scripts") return allowed;
  return allowed.includes("testing") ? allowed : [...allowed, "testing"];
}

/** The relative specifiers of `import`/`export … from`/`import()` in a TypeScript source. */
export function relativeImports(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  return [...source.matchAll(pattern)].map((match) => match[1]!);
}

/** Every import in `files` that the layout forbids, in file order. */
export function importViolations(files: readonly SourceFile[]): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const file of files) {
    const area = areaOf(file.path);
    if (area === undefined) continue;
    for (const specifier of file.imports) {
      const to = posix.normalize(posix.join(posix.dirname(file.path), specifier));
      const target = areaOf(to);
      if (target === undefined) continue;
      if (!allowedAreas(file.path, area).includes(target)) {
        violations.push({ from: file.path, to, rule: `${area} must not import ${target}` });
      } else if (area === "services" && target === "services" && !isTest(file.path)) {
        const [own, other] = [file.path.split("/")[1], to.split("/")[1]];
        if (own !== other && to.split("/").length > 2) {
          violations.push({ from: file.path, to, rule: "a service must not import another" });
        }
      }
    }
  }
  return violations;
}
