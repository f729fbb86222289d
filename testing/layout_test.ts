import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { importViolations, relativeImports, type SourceFile } from "./layout.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function sourceFiles(): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const area of ["lib", "services", "cli", "testing", "tools", "scripts"]) {
    const entries = await readdir(`${ROOT}${area}`, { recursive: true });
    for (const entry of entries.filter((name) => name.endsWith(".ts")).sort()) {
      const path = `${area}/${entry}`;
      files.push({ path, imports: relativeImports(await readFile(`${ROOT}${path}`, "utf8")) });
    }
  }
  return files;
}

Deno.test("importViolations() finds none in this repository", async () => {
  const files = await sourceFiles();
  assert.ok(files.length > 100, `only ${files.length} source files found under ${ROOT}`);
  assert.deepEqual(importViolations(files), []);
});

Deno.test("importViolations() names each import against the layout's direction", () => {
  const files: SourceFile[] = [
    { path: "lib/kafka/consumer.ts", imports: ["../../testing/kafka.ts", "./errors.ts"] },
    { path: "lib/kafka/consumer_test.ts", imports: ["../../testing/kafka.ts"] },
    { path: "lib/kafka/bench_test.ts", imports: ["../../tools/bench/run.ts"] },
    { path: "cli/program.ts", imports: ["../testing/stripe_test_server/cards.ts"] },
    { path: "cli/orders.ts", imports: ["../services/inventory/store.ts"] },
    { path: "services/payment/main.ts", imports: ["../inventory/store.ts", "../../lib/db/mod.ts"] },
    { path: "services/payment/e2e_test.ts", imports: ["../inventory/store.ts"] },
    { path: "testing/stack.ts", imports: ["../tools/chaos/infra.ts", "./db.ts"] },
    { path: "tools/chaos/run.ts", imports: ["../../testing/stack.ts", "../../scripts/dev.ts"] },
    { path: "scripts/demo.ts", imports: ["../tools/chaos/mod.ts", "../services/x/main.ts"] },
  ];
  assert.deepEqual(importViolations(files), [
    { from: "lib/kafka/consumer.ts", to: "testing/kafka.ts", rule: "lib must not import testing" },
    {
      from: "lib/kafka/bench_test.ts",
      to: "tools/bench/run.ts",
      rule: "lib must not import tools",
    },
    {
      from: "cli/program.ts",
      to: "testing/stripe_test_server/cards.ts",
      rule: "cli must not import testing",
    },
    {
      from: "cli/orders.ts",
      to: "services/inventory/store.ts",
      rule: "cli must not import services",
    },
    {
      from: "services/payment/main.ts",
      to: "services/inventory/store.ts",
      rule: "a service must not import another",
    },
    { from: "testing/stack.ts", to: "tools/chaos/infra.ts", rule: "testing must not import tools" },
    { from: "tools/chaos/run.ts", to: "scripts/dev.ts", rule: "tools must not import scripts" },
  ]);
});

Deno.test("relativeImports() reads static, re-export and dynamic imports, not bare ones", () => {
  const source = [
    'import { a } from "./a.ts";',
    'export { b } from "../b.ts";',
    'import type { C } from "../../c.ts";',
    'const d = await import("./d.ts");',
    'import "./side_effect.ts";',
    'import kafkajs from "kafkajs";',
    'const e = new URL("./e.ts", import.meta.url);',
  ].join("\n");
  assert.deepEqual(relativeImports(source), [
    "./a.ts",
    "../b.ts",
    "../../c.ts",
    "./d.ts",
    "./side_effect.ts",
  ]);
});
