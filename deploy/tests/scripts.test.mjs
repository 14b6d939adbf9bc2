// Runs the secret and certificate scripts in a scratch copy of deploy/compose and checks that they
// produce every file the compose files mount, in the formats their consumers read.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCompose, parseEnvFile } from './lib/compose.mjs';
import { paths } from './lib/repo.mjs';

let work;
const run = (script, ...args) => execFileSync('bash', [join(work, script), ...args], { encoding: 'utf8', stdio: 'pipe' });
const secret = (name) => readFileSync(join(work, 'secrets', name), 'utf8');

describe('init-secrets.sh and traefik/generate-local-cert.sh', () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'compose-secrets-'));
    for (const f of ['init-secrets.sh', '.env.example', 'compose.yaml', 'compose.observability.yaml', 'traefik', 'redis']) {
      cpSync(join(paths.composeDir, f), join(work, f), { recursive: true, filter: (src) => !src.includes('/certs') });
    }
    run('init-secrets.sh');
    run('traefik/generate-local-cert.sh');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('create every secret file both compose files declare, non-empty, readable by containers', () => {
    const env = parseEnvFile(join(work, '.env.example'));
    const { model } = loadCompose([join(work, 'compose.yaml'), join(work, 'compose.observability.yaml')], env);
    for (const [name, { file }] of Object.entries(model.secrets)) {
      const st = statSync(join(work, file));
      assert.ok(st.size > 0, `${name} is empty`);
      assert.equal(st.mode & 0o777, 0o644, `${name} mode`);
    }
    assert.equal(statSync(join(work, 'secrets')).mode & 0o777, 0o700);
    assert.equal(statSync(join(work, 'traefik/certs')).mode & 0o777, 0o700);
  });

  test('derived files agree with their source password', () => {
    assert.equal(secret('postgres_owner_pgpass'), `*:*:*:shortener_owner:${secret('postgres_owner_password')}\n`);
    assert.equal(secret('postgres_app_pgpass'), `*:*:*:shortener_app:${secret('postgres_app_password')}\n`);
    const sha = (name) => createHash('sha256').update(secret(name)).digest('hex');
    const acl = secret('redis_acl');
    assert.match(acl, /^user default off$/m);
    for (const [user, file] of [['shortener-api', 'redis_api_password'], ['shortener-worker', 'redis_worker_password'],
      ['shortener-exporter', 'redis_exporter_password']]) {
      assert.match(acl, new RegExp(`^user ${user} on #${sha(file)} `, 'm'), user);
    }
    assert.doesNotMatch(acl, /\{\{/, 'every placeholder replaced');
    assert.deepEqual(JSON.parse(secret('redis_exporter_passwords')), { 'redis://redis:6379': secret('redis_exporter_password') });
    const [user, hash] = secret('traefik_users').trim().split(':');
    assert.equal(user, 'admin');
    assert.match(hash, /^\$(apr1|2[aby])\$/);
    if (hash.startsWith('$apr1$')) {
      const salt = hash.split('$')[2];
      const again = execFileSync('openssl', ['passwd', '-apr1', '-salt', salt, '-stdin'], { input: secret('traefik_admin_password'), encoding: 'utf8' }).trim();
      assert.equal(again, hash, 'htpasswd entry verifies the admin password');
    }
  });

  test('passwords are long, random and free of characters that break the formats', () => {
    for (const name of ['postgres_password', 'postgres_owner_password', 'postgres_app_password', 'postgres_exporter_password',
      'redis_api_password', 'redis_worker_password', 'redis_exporter_password', 'bootstrap_api_key',
      'grafana_admin_password', 'traefik_admin_password']) {
      const value = secret(name);
      assert.match(value, /^[A-Za-z0-9]{24,}$/, name);
    }
    assert.ok(secret('bootstrap_api_key').length >= 32, 'the API requires 32 characters');
    assert.notEqual(secret('postgres_app_password'), secret('redis_api_password'));
  });

  test('are idempotent: a second run changes nothing', () => {
    const before = secret('postgres_password') + secret('traefik_users') + secret('redis_acl');
    const output = run('init-secrets.sh');
    assert.match(output, /already present/);
    assert.equal(secret('postgres_password') + secret('traefik_users') + secret('redis_acl'), before);
    assert.match(run('traefik/generate-local-cert.sh'), /exists/);
  });

  test('the certificate covers DOMAIN and *.DOMAIN and matches its key', () => {
    const domain = parseEnvFile(join(work, '.env.example')).DOMAIN;
    const crt = join(work, 'traefik/certs/local.crt');
    const san = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    assert.match(san, new RegExp(`DNS:${domain.replace('.', '\\.')}\\b`));
    assert.match(san, new RegExp(`DNS:\\*\\.${domain.replace('.', '\\.')}`));
    const pub = (args) => execFileSync('openssl', args, { encoding: 'utf8' });
    assert.equal(pub(['x509', '-in', crt, '-noout', '-pubkey']), pub(['pkey', '-in', join(work, 'traefik/certs/local.key'), '-pubout']));
  });
});
