#!/usr/bin/env node
// Validates a rendered s.yaml against the fc3 component's JSON schema, offline.
//
//   s preview -o json > rendered.json
//   node scripts/validate-syaml.mjs --schema ../shared/fc3-schema.json rendered.json
//
// This is what `s verify` does, without downloading the fc3 component: every
// resource whose component is fc3 has its `props` validated with ajv. Input may
// be `s preview` output as printed (anything before the first line that starts
// with `{`, such as the CLI's root-user warning, is skipped); "-" reads stdin.
//
// Prints one line per error, "<resource>: <path in props>: <message>", and a
// summary. Exit 0: all valid; 1: some resource is invalid; 2: usage or input error.
import { readFileSync } from "node:fs";
import Ajv from "ajv";

function usage(msg) {
  if (msg) console.error(`validate-syaml: ${msg}`);
  console.error("usage: validate-syaml.mjs --schema FC3_SCHEMA.json RENDERED.json|-");
  process.exit(2);
}

const args = process.argv.slice(2);
let schemaPath = "";
let inputPath = "";
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--schema") schemaPath = args[++i] ?? "";
  else if (args[i].startsWith("--schema=")) schemaPath = args[i].slice("--schema=".length);
  else if (args[i] === "-h" || args[i] === "--help") usage();
  else if (!inputPath) inputPath = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!schemaPath || !inputPath) usage("--schema and the rendered JSON are required");

function readJSON(path, what, stripPrefix) {
  let text;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    usage(`read ${what} ${path}: ${e.message}`);
  }
  if (stripPrefix) {
    const m = /^\{/m.exec(text);
    if (!m) usage(`${what} ${path}: no JSON object (no line starting with "{")`);
    text = text.slice(m.index);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    usage(`${what} ${path}: invalid JSON: ${e.message}`);
  }
}

const schema = readJSON(schemaPath, "schema", false);
const rendered = readJSON(inputPath, "rendered s.yaml", true);

// strict: false: the fc3 schema is generated from TypeScript types and ajv's
// strict mode complains about its if/then `required` lists (and could refuse a
// newer schema) although they validate as intended; `s verify` tolerates them.
// allErrors so that every problem is reported at once.
const ajv = new Ajv({ allErrors: true, strict: false });
let validate;
try {
  validate = ajv.compile(schema);
} catch (e) {
  usage(`compile schema ${schemaPath}: ${e.message}`);
}

const resources = rendered.resources;
if (!resources || typeof resources !== "object" || Array.isArray(resources)) {
  usage("rendered s.yaml has no resources object");
}

let checked = 0;
let invalid = 0;
for (const [name, res] of Object.entries(resources)) {
  if (!res || res.component !== "fc3") {
    console.log(`${name}: skipped (component ${res && res.component}, not fc3)`);
    continue;
  }
  checked++;
  if (validate(res.props ?? {})) {
    console.log(`${name}: ok`);
    continue;
  }
  invalid++;
  for (const err of validate.errors) {
    const where = err.instancePath || "/";
    let detail = err.message;
    if (err.params && err.params.allowedValues) detail += ` (${err.params.allowedValues.join(", ")})`;
    console.log(`${name}: props${where === "/" ? "" : where}: ${detail} [schema ${err.schemaPath}]`);
  }
}
console.log(`${checked} fc3 resource(s) checked, ${invalid} invalid`);
if (checked === 0) {
  console.error("validate-syaml: no fc3 resource found");
  process.exit(1);
}
process.exit(invalid ? 1 : 0);
