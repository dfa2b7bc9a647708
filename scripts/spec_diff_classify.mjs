#!/usr/bin/env node
// Classify every change between two OpenAPI documents with api-smart-diff (pinned in package.json).
//
// Usage: node scripts/spec_diff_classify.mjs BEFORE.json AFTER.json > changes.json
//
// Prints a JSON array, one object per change: {type, action, path, description, before?, after?}
// where type is breaking | non-breaking | deprecated | annotation | unclassified. `before` and
// `after` are kept only when they are scalars or lists of scalars. scripts/spec_diff.py calls this
// with dereferenced documents (api-smart-diff classifies a schema shared through $ref by the first
// place it meets it, so requests and responses must not share one node) and turns the result into
// the report; run it alone to see the raw classification.
import { readFileSync } from "node:fs";
import { apiCompare } from "api-smart-diff";

const [beforePath, afterPath] = process.argv.slice(2);
if (!beforePath || !afterPath) {
  console.error("usage: node scripts/spec_diff_classify.mjs BEFORE.json AFTER.json");
  process.exit(2);
}

const read = (path) => JSON.parse(readFileSync(path, "utf8"));
const isScalar = (value) => value === null || typeof value !== "object";
const small = (value) =>
  isScalar(value) || (Array.isArray(value) && value.every(isScalar)) ? value : undefined;

const { diffs } = apiCompare(read(beforePath), read(afterPath));
const changes = diffs.map(({ type, action, path, description, before, after }) => ({
  type,
  action,
  path,
  description: description ?? "",
  before: small(before),
  after: small(after),
}));
process.stdout.write(`${JSON.stringify(changes, null, 1)}\n`);
