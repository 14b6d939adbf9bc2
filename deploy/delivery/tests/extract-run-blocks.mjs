// Writes each `run:` block of the given workflows to OUT_DIR/<workflow>.<job>.<n>.sh, as bash
// scripts shellcheck can read (GitHub runs them with `bash -e -o pipefail`). Expressions
// (${{ ... }}) become a plain word, as GitHub substitutes them before bash sees the script.
// Usage: node extract-run-blocks.mjs OUT_DIR WORKFLOW...
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadWorkflow } from './lib/workflow-policy.mjs';

const [outDir, ...files] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
let count = 0;
for (const file of files) {
  const wf = loadWorkflow(file);
  for (const [job, def] of Object.entries(wf.doc.jobs ?? {})) {
    (def.steps ?? []).forEach((step, i) => {
      if (typeof step.run !== 'string') return;
      const body = step.run.replace(/\$\{\{[^}]*\}\}/g, 'EXPRESSION');
      writeFileSync(join(outDir, `${basename(file, '.yml')}.${job}.${i}.sh`), `#!/usr/bin/env bash\nset -eo pipefail\n${body}\n`);
      count++;
    });
  }
}
console.log(count);
