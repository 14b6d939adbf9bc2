// Policy tests over infra/terraform (node --test). Each rule runs on the real configuration (no
// violation allowed) and on the bad fixtures (the violation must be reported), so a rule that stops
// working fails here. The cloud-init user-data is rendered by terraform itself (the module uses no
// provider) and checked as the VM would receive it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { paths } from './lib/repo.mjs';
import { loadDir, terraformDirs } from './lib/terraform.mjs';
import {
  checkAws, checkBackend, checkCloudflare, checkIngress, checkPins, checkSecrets, checkTfvars, checkVariables, checkWorkflow,
} from './lib/policy.mjs';

const show = (list) => list.map((v) => `${v.rule} ${v.subject}: ${v.message}`).join('\n');
const dirs = terraformDirs(paths.terraform);
const loaded = Object.fromEntries(await Promise.all(dirs.map(async (d) => [relative(paths.terraform, d), await loadDir(d)])));
const everything = Object.values(loaded).flat();
const roots = Object.keys(loaded).filter((d) => d.startsWith('envs/'));
const bad = await loadDir(join(paths.fixtures, 'bad-policy'));

async function tfvarsViolations(dir) {
  const out = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.tfvars'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    out.push(...checkTfvars(f, text, await parse(f, text)));
  }
  return out;
}

describe('the shipped configuration satisfies every rule', () => {
  const cases = {
    'ingress: only 22/80/443, never from 0.0.0.0/0 or ::/0': () => checkIngress(everything),
    'every variable typed and described': () => checkVariables(everything),
    'no literal secrets in .tf files': () => checkSecrets(everything),
    'Cloudflare: records proxied, SSL Full (strict), HTTPS only, TLS >= 1.2, HSTS, API rate limit': () => checkCloudflare(everything),
    'AWS: encrypted disks, IMDSv2, protected state bucket': () => checkAws(everything),
  };
  for (const [name, run] of Object.entries(cases)) {
    test(name, () => { const v = run(); assert.equal(v.length, 0, show(v)); });
  }
  for (const dir of Object.keys(loaded)) {
    if (loaded[dir].every(({ json }) => !json.resource && !json.data && !json.provider)) continue;
    test(`${dir}: providers pinned to the schema-checked versions`, () => {
      const v = checkPins(loaded[dir]); assert.equal(v.length, 0, show(v));
    });
  }
  for (const root of roots) {
    test(`${root}: remote state, encrypted, locked`, () => {
      const v = checkBackend(loaded[root]); assert.equal(v.length, 0, show(v));
    });
    test(`${root}: tfvars hold no secret and no /0 range`, async () => {
      const v = await tfvarsViolations(join(paths.terraform, root)); assert.equal(v.length, 0, show(v));
    });
  }
  test('the network module keeps SSH off the internet by validation too', () => {
    const text = readFileSync(join(paths.terraform, 'modules/network/variables.tf'), 'utf8');
    assert.match(text, /!anytrue\(\[for c in var\.ssh_allowed_cidrs : endswith\(c, "\/0"\)\]\)/);
  });
  test('the dns module keeps the apex and api proxied by validation', () => {
    const text = readFileSync(join(paths.terraform, 'modules/dns/variables.tf'), 'utf8');
    assert.match(text, /!contains\(var\.dns_only_hosts, "@"\) && !contains\(var\.dns_only_hosts, "api"\)/);
  });
});

describe('the policy reports each violation of the bad fixtures', () => {
  const expectations = [
    ['ingress-world', 'ssh_from_world', checkIngress],
    ['ingress-ports', 'postgres_port', checkIngress],
    ['ingress-world', 'inline_world', checkIngress],
    ['ingress-world', 'var.ssh_allowed_cidrs', checkIngress],
    ['variable-typed', 'var.untyped', checkVariables],
    ['variable-described', 'var.undescribed', checkVariables],
    ['no-secrets', 'var.db_password', checkVariables],
    ['no-secrets', 'provider.cloudflare.api_token', checkSecrets],
    ['providers-pinned', 'aws', checkPins],
    ['providers-pinned', 'cloudflare', checkPins],
    ['state-locking', 'backend s3', checkBackend],
    ['state-encryption', 'backend s3', checkBackend],
    ['aws-imdsv2', 'imdsv1_unencrypted', checkAws],
    ['aws-encryption', 'imdsv1_unencrypted', checkAws],
    ['aws-encryption', 'unencrypted', checkAws],
    ['state-encryption', 'aws_s3_bucket.state_without_protection', checkAws],
    ['cloudflare-proxied', 'origin_exposed', checkCloudflare],
    ['cloudflare-rate-limit', 'zone', checkCloudflare],
    ['cloudflare-tls', 'ssl', checkCloudflare],
    ['cloudflare-tls', 'min_tls_version', checkCloudflare],
  ];
  for (const [rule, subject, check] of expectations) {
    test(`${rule}: ${subject}`, () => {
      const v = check(bad);
      assert.ok(v.some((x) => x.rule === rule && x.subject === subject), `not reported; got:\n${show(v)}`);
    });
  }
  test('remote-backend: a root without a backend', () => {
    const v = checkBackend([{ json: { terraform: [{ required_version: '>= 1.11' }] } }]);
    assert.deepEqual(v.map((x) => x.rule), ['remote-backend']);
  });
  test('no-secrets and ingress-world in tfvars', async () => {
    // The fake AWS key is assembled here, not committed: nothing in the repository may look like a real one.
    const dir = mkdtempSync(join(tmpdir(), 'bad-tfvars-'));
    const fixture = readFileSync(join(paths.fixtures, 'bad-policy', 'production.tfvars'), 'utf8');
    writeFileSync(join(dir, 'production.tfvars'), `${fixture}aws_secret_access_key = "${'AK' + 'IA'}ABCDEFGHIJKLMNOP"\n`);
    const v = await tfvarsViolations(dir);
    rmSync(dir, { recursive: true });
    for (const subject of ['production.tfvars: cloudflare_api_token', 'production.tfvars: aws_secret_access_key']) {
      assert.ok(v.some((x) => x.rule === 'no-secrets' && x.subject === subject), show(v));
    }
    assert.ok(v.some((x) => x.rule === 'no-secrets' && /AWS access key/.test(x.message)), show(v));
    assert.ok(v.some((x) => x.rule === 'ingress-world' && x.subject === 'production.tfvars: ssh_allowed_cidrs'), show(v));
  });
});

describe('the Terraform workflow', () => {
  test('the shipped workflow satisfies every rule', () => {
    const v = checkWorkflow(parseYaml(readFileSync(paths.workflow, 'utf8'))); assert.equal(v.length, 0, show(v));
  });
  const bad = checkWorkflow(parseYaml(readFileSync(join(paths.fixtures, 'bad-workflow/terraform.yml'), 'utf8')));
  const expectations = [
    ['workflow-permissions', 'workflow'], ['workflow-permissions', 'plan'], ['workflow-oidc', 'workflow'],
    ['workflow-oidc', 'plan'], ['workflow-pinned', 'plan: actions/checkout@v4'],
    ['workflow-apply-gate', 'apply'], ['workflow-plan', 'plan'],
  ];
  for (const [rule, subject] of expectations) {
    test(`reports ${rule}: ${subject} on the bad fixture`, () => {
      assert.ok(bad.some((x) => x.rule === rule && x.subject === subject), show(bad));
    });
  }
  test('reports every apply-gate defect (environment, branch, -auto-approve)', () => {
    assert.equal(bad.filter((x) => x.rule === 'workflow-apply-gate').length, 3, show(bad));
  });
});

describe('cloud-init user-data as terraform renders it', () => {
  let work; let userData; let config; let schemaRuns;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cloud-init-render-'));
    cpSync(join(paths.root, 'infra/tests/cloud-init-render'), work, { recursive: true });
    const main = join(work, 'main.tf');
    writeFileSync(main, readFileSync(main, 'utf8').replace('../../terraform/modules/cloud-init', join(paths.terraform, 'modules/cloud-init')));
    const tf = (...args) => execFileSync('terraform', args, { cwd: work, encoding: 'utf8', env: { ...process.env, TF_IN_AUTOMATION: '1' } });
    tf('init', '-backend=false', '-input=false', '-no-color');
    tf('apply', '-auto-approve', '-input=false', '-no-color');
    const outputs = JSON.parse(tf('output', '-json'));
    userData = outputs.user_data.value;
    writeFileSync(join(work, 'user-data.yaml'), userData);
    writeFileSync(join(work, 'nftables.conf'), outputs.nftables_conf.value);
    config = parseYaml(userData);
    // cloud-init takes seconds to start: validate the real and the broken document in parallel.
    writeFileSync(join(work, 'bad.yaml'), userData.replace('"defer": true', '"deferred": true'));
    const schema = (file) => promisify(execFile)('cloud-init', ['schema', '--config-file', join(work, file)])
      .then(({ stdout }) => ({ ok: true, stdout }), (error) => ({ ok: false, stdout: `${error.stdout}${error.stderr}` }));
    schemaRuns = Object.fromEntries(await Promise.all(['user-data.yaml', 'bad.yaml'].map(async (f) => [f, await schema(f)])));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('is a #cloud-config document', () => assert.match(userData, /^#cloud-config\n/));
  test('SSH: keys only, no root, no passwords', () => {
    assert.equal(config.ssh_pwauth, false);
    assert.equal(config.disable_root, true);
    const sshd = config.write_files.find((f) => f.path === '/etc/ssh/sshd_config.d/10-shortener.conf').content;
    for (const line of ['PermitRootLogin no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no']) assert.match(sshd, new RegExp(`^${line}$`, 'm'));
  });
  test('the deploy user has keys, a locked password and no sudo', () => {
    const deploy = config.users.find((u) => u.name === 'deploy');
    assert.equal(deploy.lock_passwd, true);
    assert.equal(deploy.sudo, undefined);
    assert.ok(deploy.ssh_authorized_keys.length > 0);
    assert.deepEqual(config.groups, ['docker'], 'the docker group exists before the user is created');
  });
  test("Docker and compose from Debian's repositories, unattended upgrades on", () => {
    for (const p of ['docker.io', 'docker-compose', 'unattended-upgrades', 'nftables']) assert.ok(config.packages.includes(p), p);
    assert.equal(config.apt, undefined, 'no third-party apt source');
    const auto = config.write_files.find((f) => f.path === '/etc/apt/apt.conf.d/20auto-upgrades').content;
    assert.match(auto, /APT::Periodic::Unattended-Upgrade "1";/);
  });
  test('the host firewall mirrors the security group and parses (nft --check)', () => {
    const nft = readFileSync(join(work, 'nftables.conf'), 'utf8');
    assert.match(nft, /policy drop;/);
    assert.match(nft, /elements = \{ 198\.51\.100\.0\/24 \}/, 'SSH allow-list');
    assert.match(nft, /elements = \{ 173\.245\.48\.0\/20, 103\.21\.244\.0\/22 \}/, 'Cloudflare ranges');
    assert.doesNotMatch(nft, /^\s*flush ruleset/m, 'would remove Docker\'s rules');
    execFileSync('nft', ['--check', '--file', join(work, 'nftables.conf')], { encoding: 'utf8' });
  });
  test('passes cloud-init schema', () => {
    const run = schemaRuns['user-data.yaml'];
    assert.ok(run.ok, run.stdout);
    assert.match(run.stdout, /Valid cloud-config/);
  });
  test('cloud-init schema rejects a bad document (the gate is live)', () => {
    const run = schemaRuns['bad.yaml'];
    assert.equal(run.ok, false, run.stdout);
    assert.match(run.stdout, /'deferred' was unexpected/);
  });
  test('its shell is shellcheck-clean', () => {
    const script = config.write_files.find((f) => f.path === '/usr/local/sbin/shortener-host-setup').content;
    writeFileSync(join(work, 'host-setup.sh'), script);
    execFileSync('shellcheck', [join(work, 'host-setup.sh')], { encoding: 'utf8' });
    assert.deepEqual(config.runcmd[0].slice(0, 1), ['/usr/local/sbin/shortener-host-setup']);
  });
});
