import assert from "node:assert/strict";
import fc from "fast-check";
import { type FormParams, type FormValue, parseForm } from "./form.ts";

const cases: { name: string; text: string; expected: FormParams }[] = [
  { name: "empty body", text: "", expected: {} },
  {
    name: "plain pairs",
    text: "amount=1999&currency=usd&confirm=true",
    expected: { amount: "1999", currency: "usd", confirm: "true" },
  },
  {
    name: "bracketed object keys",
    text: "metadata[orderId]=o-1&metadata[sagaId]=s-1",
    expected: { metadata: { orderId: "o-1", sagaId: "s-1" } },
  },
  {
    name: "nested objects",
    text:
      "automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never",
    expected: { automatic_payment_methods: { enabled: "true", allow_redirects: "never" } },
  },
  {
    name: "empty-bracket arrays (curl style)",
    text: "payment_method_types[]=card&payment_method_types[]=link",
    expected: { payment_method_types: ["card", "link"] },
  },
  {
    name: "indexed arrays (SDK style)",
    text: "expand[0]=latest_charge&expand[1]=customer",
    expected: { expand: ["latest_charge", "customer"] },
  },
  {
    name: "arrays of objects",
    text: "items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2",
    expected: { items: [{ price: "p1", quantity: "2" }, { price: "p2" }] },
  },
  {
    name: "sparse indices closed up in index order",
    text: "a[5]=x&a[2]=y",
    expected: { a: ["y", "x"] },
  },
  {
    name: "percent-encoding, plus as space and encoded brackets",
    text: "description=Two+mugs%20%26%20a%20pot&metadata%5Bnote%5D=caf%C3%A9",
    expected: { description: "Two mugs & a pot", metadata: { note: "café" } },
  },
  {
    name: "missing and empty values",
    text: "metadata=&flag&&x=1",
    expected: { metadata: "", flag: "", x: "1" },
  },
  { name: "last duplicate wins", text: "a=1&a=2", expected: { a: "2" } },
];

for (const { name, text, expected } of cases) {
  Deno.test(`parseForm() decodes ${name}`, () => {
    assert.deepEqual(parseForm(text), expected);
  });
}

Deno.test("parseForm() keeps __proto__ as a plain key instead of touching prototypes", () => {
  const params = parseForm("__proto__[polluted]=yes&metadata[__proto__]=x");
  assert.equal(Object.getPrototypeOf(params), Object.prototype);
  assert.deepEqual(Object.keys(params), ["__proto__", "metadata"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.hasOwn(params.metadata as FormParams, "__proto__"), true);
});

const malformed: { name: string; text: string; message: RegExp }[] = [
  { name: "an unclosed bracket", text: "metadata[orderId=1", message: /malformed brackets/ },
  { name: "a bracket-only key", text: "[a]=1", message: /malformed brackets/ },
  { name: "bad percent-encoding", text: "a=%E0%A4%A", message: /invalid percent-encoding/ },
  { name: "a value reused as an object", text: "a=1&a[b]=2", message: /two different shapes/ },
  { name: "an object reused as a value", text: "a[b]=2&a=1", message: /two different shapes/ },
  { name: "an array reused as an object", text: "a[]=1&a[b]=2", message: /two different shapes/ },
  { name: "a huge array index", text: "a[99999999]=1", message: /above 10000/ },
];

for (const { name, text, message } of malformed) {
  Deno.test(`parseForm() throws SyntaxError on ${name}`, () => {
    assert.throws(() => parseForm(text), (error: unknown) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, message);
      return true;
    });
  });
}

/** Encodes like the stripe SDK's `queryStringifyRequestData` (indexed arrays, raw brackets). */
function encodeLikeSdk(params: FormParams): string {
  const pairs: string[] = [];
  function encode(key: string, value: FormValue): void {
    if (typeof value === "string") {
      const safeKey = encodeURIComponent(key).replace(/%5B/g, "[").replace(/%5D/g, "]");
      pairs.push(`${safeKey}=${encodeURIComponent(value)}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => encode(`${key}[${index}]`, item));
    } else {
      for (const [k, v] of Object.entries(value)) encode(`${key}[${k}]`, v);
    }
  }
  for (const [key, value] of Object.entries(params)) encode(key, value);
  return pairs.join("&");
}

const keyArb = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_ .-]{0,8}$/);
const { value: valueArb } = fc.letrec<{ value: FormValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string(),
    fc.array(tie("value"), { minLength: 1, maxLength: 3 }),
    fc.dictionary(keyArb, tie("value"), { minKeys: 1, maxKeys: 3, noNullPrototype: true }),
  ),
}));

Deno.test("parseForm() inverts the SDK's bracket encoding for any nested params", () => {
  fc.assert(
    fc.property(
      fc.dictionary(keyArb, valueArb, { maxKeys: 4, noNullPrototype: true }),
      (params) => {
        assert.deepEqual(parseForm(encodeLikeSdk(params)), params);
      },
    ),
  );
});
