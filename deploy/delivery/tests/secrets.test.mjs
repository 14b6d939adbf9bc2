// No plaintext secret is committed, and the Trivy exceptions follow their review policy; bad
// fixtures prove both checks can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plaintextSecrets, trivyignoreViolations } from './lib/secrets-policy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const fixtures = join(here, 'fixtures');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: repo, encoding: 'utf8' }).split('\0').filter(Boolean);
const fixturePrefix = relative(repo, fixtures) + '/';

test('no plaintext secret under secrets/ and no plaintext *.env is committed', () => {
  // Policy-test fixtures are deliberately bad configs that nothing deploys (deploy/tests/fixtures/bad-images.env
  // holds image versions, no secret); a real secret elsewhere is still caught.
  const paths = tracked.filter((p) => !p.startsWith(fixturePrefix) && !p.startsWith('deploy/tests/fixtures/'));
  assert.deepEqual(plaintextSecrets(repo, paths), []);
});

test('bad fixture: plaintext secrets and .env are found; age files (binary and armored) pass', () => {
  const root = join(fixtures, 'repo-with-plaintext');
  const paths = ['deploy/compose/secrets/README.md', 'deploy/compose/secrets/postgres_password',
    'deploy/secrets/production/redis_password.age', 'production.env', 'staging.env'];
  assert.deepEqual(plaintextSecrets(root, paths), ['deploy/compose/secrets/postgres_password', 'production.env']);
});

test('.trivyignore follows its policy (review line, exp: within 90 days)', () => {
  assert.deepEqual(trivyignoreViolations(readFileSync(join(repo, '.trivyignore'), 'utf8')), []);
});

test('bad fixture: .trivyignore entries without review, without exp:, or expiring too late', () => {
  const v = trivyignoreViolations(readFileSync(join(fixtures, 'bad.trivyignore'), 'utf8'));
  assert.deepEqual(v, [
    'CVE-2026-0002 has no "# Reviewed by WHO DATE: why" line above it',
    'CVE-2026-0002 has no exp: date',
    'CVE-2026-0003 has no "# Reviewed by WHO DATE: why" line above it',
    'CVE-2026-0004 expires more than 90 days after its review',
  ]);
});
