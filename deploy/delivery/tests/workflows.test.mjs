// Delivery policy over .github/workflows, with one bad fixture per defect class proving that each
// rule can fail. Run by scripts/check-delivery.sh (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as policy from './lib/workflow-policy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const workflowDir = join(repo, '.github', 'workflows');
const fixture = (name) => policy.loadWorkflow(join(here, 'fixtures', name));
const actionTable = JSON.parse(readFileSync(join(here, 'action-inputs.json'), 'utf8'));
const workflows = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f))
  .map((f) => policy.loadWorkflow(join(workflowDir, f)));
const byName = (n) => workflows.find((w) => w.file.endsWith(`/${n}`));

const ours = ['ci.yml', 'release.yml', 'deploy.yml'];

test('the delivery workflows exist', () => {
  for (const name of ours) assert.ok(byName(name), `.github/workflows/${name} is missing`);
});

// Rules that hold for every workflow in the repository, including ones other changes add.
const everyWorkflow = {
  'least privilege (permissions: {} on top, a grant per job, no write-all)': policy.leastPrivilege,
  'third-party actions pinned by full commit SHA with a version comment': policy.actionsPinned,
  'pull_request_target/workflow_run never check out pull request code': policy.noPrivilegedCheckoutOfPullRequests,
  'secrets and untrusted inputs reach run: only through env, never printed': policy.secretsAndInputsStayInEnv,
  'every workflow has a concurrency group': (wf) => policy.concurrencyGroups(wf),
  'deploy secrets only in the production environment': (wf) => policy.deployBehindEnvironment(wf),
  'checkouts drop their token; every job has a timeout': policy.hygiene,
};
for (const [rule, check] of Object.entries(everyWorkflow)) {
  test(`every workflow: ${rule}`, () => {
    for (const wf of workflows) assert.deepEqual(check(wf), [], wf.file);
  });
}

test('ours: every action input exists in the pinned action.yml (action-inputs.json)', () => {
  for (const name of ours) assert.deepEqual(policy.actionInputsKnown(byName(name), actionTable), [], name);
});

test('action-inputs.json covers exactly the actions the workflows pin', () => {
  const pinned = new Set(workflows.flatMap((wf) => [...wf.text.matchAll(/uses:\s*([^\s#]+@[0-9a-f]{40})/g)].map((m) => m[1])));
  for (const ref of pinned) assert.ok(actionTable[ref], `${ref}: add its inputs from action.yml at that SHA`);
});

test('deploy.yml: production environment, never cancelled, images only by digest', () => {
  const deploy = byName('deploy.yml');
  assert.equal(deploy.doc.jobs.deploy.environment, 'production');
  assert.deepEqual(policy.concurrencyGroups(deploy, { neverCancel: true }), []);
  assert.deepEqual(policy.deploysByDigest(deploy), []);
  // The release hands over digests: <image>@<digest output of build-push-action>.
  const release = byName('release.yml');
  assert.match(release.text, /printf '%s@%s\\n' "\$IMAGE" "\$DIGEST"/);
  assert.deepEqual(policy.concurrencyGroups(release, { neverCancel: true }), []);
});

test('release.yml: multi-arch, SBOM and provenance, keyless signature, Trivy gate on fixable HIGH/CRITICAL', () => {
  const steps = byName('release.yml').doc.jobs.image.steps;
  const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
  assert.equal(build.with.platforms, 'linux/amd64,linux/arm64');
  assert.equal(build.with.sbom, true);
  assert.match(String(build.with.provenance), /mode=max/);
  assert.ok(steps.some((s) => /cosign sign --yes "\$IMAGE@\$DIGEST"/.test(s.run ?? '')), 'signs by digest');
  const gate = steps.find((s) => s.uses?.startsWith('aquasecurity/trivy-action@') && s.with['exit-code'] === '1');
  assert.equal(gate.with.severity, 'HIGH,CRITICAL');
  assert.equal(gate.with['ignore-unfixed'], true);
  assert.equal(gate.with.trivyignores, '.trivyignore');
  assert.ok(existsSync(join(repo, '.trivyignore')));
});

test('ci.yml: NuGet audit fails on high and critical advisories of all packages', () => {
  const audit = byName('ci.yml').doc.jobs['nuget-audit'].steps.map((s) => s.run ?? '').join('\n');
  assert.match(audit, /NuGetAuditMode=all/);
  assert.match(audit, /NuGetAuditLevel=high/);
  assert.match(audit, /WarningsAsErrors=NU1903%3BNU1904/);
});

// --- Bad fixtures: each rule must fail on the defect it exists for ------------------------------
test('bad fixture: missing top-level permissions, write-all, a job without grants', () => {
  const v = policy.leastPrivilege(fixture('bad-permissions.yml'));
  assert.ok(v.some((m) => m.includes('top-level')));
  assert.ok(v.some((m) => m.includes('write-all')));
  assert.ok(v.some((m) => m.includes('job implicit')));
});

test('bad fixture: actions by tag, by branch, and a SHA without version comment', () => {
  const v = policy.actionsPinned(fixture('bad-unpinned.yml'));
  assert.equal(v.length, 3, v.join('\n'));
});

test('bad fixture: pull_request_target checking out the pull request head', () => {
  const v = policy.noPrivilegedCheckoutOfPullRequests(fixture('bad-pull-request-target.yml'));
  assert.equal(v.length, 2, v.join('\n'));
});

test('bad fixture: secrets and event data expanded in run:, a secret printed, set -x', () => {
  const v = policy.secretsAndInputsStayInEnv(fixture('bad-secrets.yml'));
  assert.ok(v.filter((m) => m.includes('inside run:')).length === 2, v.join('\n'));
  assert.ok(v.some((m) => m.includes('prints secret TOKEN')));
  assert.ok(v.some((m) => m.includes('set -x')));
});

test('bad fixture: deploy outside the environment, cancellable, by tag, unknown input, no timeout', () => {
  const wf = fixture('bad-deploy.yml');
  assert.equal(policy.deployBehindEnvironment(wf).length, 1);
  assert.equal(policy.concurrencyGroups(wf, { neverCancel: true }).length, 1);
  const digest = policy.deploysByDigest(wf);
  assert.ok(digest.some((m) => m.includes('without first checking')));
  assert.ok(digest.some((m) => m.includes('by tag')));
  assert.deepEqual(policy.actionInputsKnown(wf, actionTable),
    ['deploy: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 has no input "fetch_depth"']);
  const hygiene = policy.hygiene(wf);
  assert.ok(hygiene.some((m) => m.includes('timeout')));
  assert.ok(hygiene.some((m) => m.includes('persist-credentials')));
});

test('bad fixture: a workflow with no concurrency group', () => {
  assert.deepEqual(policy.concurrencyGroups(fixture('bad-permissions.yml')), ['no concurrency group']);
});
