// Usage: node validate.mjs <document.json> [samples.json]
// Parses an AsyncAPI document with @asyncapi/parser and prints every diagnostic; errors and warnings fail. With samples
// ([{ "schema": "<JSON pointer into the document>", "json": "<payload text>" }]), validates each payload against the
// schema it points to (ajv, JSON Schema draft 7, formats checked) and fails on any mismatch. Exit code 0 means clean.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [documentPath, samplesPath] = process.argv.slice(2);
if (!documentPath) {
  console.error('usage: node validate.mjs <document.json> [samples.json]');
  process.exit(2);
}

const text = readFileSync(documentPath, 'utf8');
const { document, diagnostics } = await new Parser().parse(text);
const names = ['error', 'warning', 'information', 'hint'];
let failures = 0;
for (const d of diagnostics) {
  const severity = names[d.severity] ?? String(d.severity);
  console.log(`${severity}: ${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
  if (d.severity <= 1) failures++;
}
if (!document) {
  console.log('error: the parser gave no document');
  failures++;
}

if (samplesPath) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  ajv.addSchema({ ...JSON.parse(text), $id: 'urn:typedmqtt:document' });
  for (const sample of JSON.parse(readFileSync(samplesPath, 'utf8'))) {
    const validate = ajv.compile({ $ref: `urn:typedmqtt:document#${sample.schema}` });
    const value = JSON.parse(sample.json);
    if (validate(value)) {
      console.log(`sample ok: ${sample.schema}`);
    } else {
      failures++;
      console.log(`error: sample for ${sample.schema} does not match: ${ajv.errorsText(validate.errors)}; payload ${sample.json}`);
    }
  }
}

console.log(`${failures} problem(s)`);
process.exit(failures === 0 ? 0 : 1);
