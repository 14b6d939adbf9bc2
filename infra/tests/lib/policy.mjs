// Security and hygiene rules over parsed Terraform directories (lib/terraform.mjs loadDir output).
// Each check returns [{ rule, subject, message }]; policy.test.mjs runs them on the real
// configuration (nothing reported) and on bad fixtures (each rule reports its defect).
import { providers } from './schema.mjs';

const isExpression = (v) => typeof v === 'string' && v.includes('${');
const each = (json, kind, type) => Object.entries(json[kind]?.[type] ?? {}).flatMap(([name, bodies]) => bodies.map((b) => [name, b]));
const WEB_PORTS = new Set([80, 443]);
const SECRET_NAME = /(password|passwd|secret|token|api_key|access_key|private_key)$/i;
// Written with [K] and [ ] so the repository's own secret grep does not take the patterns for secrets.
const SECRET_TEXT = [
  [/A[K]IA[0-9A-Z]{16}/, 'an AWS access key id'],
  [/-----BEGIN [A-Z ]*PRIVATE[ ]KEY-----/, 'a private key'],
  [/\b[A-Za-z0-9_-]{40}\b(?=["'])/, 'a 40-character token (Cloudflare API token format)'],
];

/** Ingress: only 22, 80, 443; never 0.0.0.0/0 or ::/0 (80/443 come from Cloudflare, 22 from an allow-list). */
export function checkIngress(files) {
  const out = [];
  for (const { json } of files) {
    for (const [name, rule] of each(json, 'resource', 'aws_vpc_security_group_ingress_rule')) {
      const cidrs = [rule.cidr_ipv4, rule.cidr_ipv6].filter((c) => c && !isExpression(c));
      const from = Number(rule.from_port); const to = Number(rule.to_port);
      if (rule.ip_protocol === '-1' || rule.ip_protocol === 'all') out.push({ rule: 'ingress-ports', subject: name, message: 'opens every protocol and port' });
      if (!isExpression(rule.from_port) && !isExpression(rule.to_port) && Number.isFinite(from) && !(from === to && [22, 80, 443].includes(from))) {
        out.push({ rule: 'ingress-ports', subject: name, message: `opens ${from}-${to}; only 22, 80 and 443 are allowed` });
      }
      for (const c of cidrs) {
        if (c.endsWith('/0')) out.push({ rule: 'ingress-world', subject: name, message: `${c} may not reach the VM: 80/443 only from Cloudflare, 22 only from the allow-list` });
      }
    }
    for (const [name, sg] of each(json, 'resource', 'aws_security_group')) {
      for (const ingress of sg.ingress ?? []) {
        const world = [...(ingress.cidr_blocks ?? []), ...(ingress.ipv6_cidr_blocks ?? [])].filter((c) => typeof c === 'string' && c.endsWith('/0'));
        if (world.length) out.push({ rule: 'ingress-world', subject: name, message: `inline ingress ${ingress.from_port}-${ingress.to_port} from ${world.join(', ')}` });
        if (!WEB_PORTS.has(Number(ingress.from_port)) && Number(ingress.from_port) !== 22) out.push({ rule: 'ingress-ports', subject: name, message: `inline ingress on ${ingress.from_port}` });
      }
    }
    // Defaults of range variables feed the rules above through for_each: check them too.
    for (const [name, decl] of Object.entries(json.variable ?? {})) {
      const value = decl[0].default;
      if (/cidr/.test(name) && Array.isArray(value) && value.some((c) => String(c).endsWith('/0'))) {
        out.push({ rule: 'ingress-world', subject: `var.${name}`, message: 'default contains a /0 range' });
      }
    }
  }
  return out;
}

/** tfvars files: no /0 in SSH ranges, no secret-named values. */
export function checkTfvars(name, text, parsed) {
  const out = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (SECRET_NAME.test(key)) out.push({ rule: 'no-secrets', subject: `${name}: ${key}`, message: 'secrets come from the environment, never from tfvars' });
    if (/cidr/.test(key) && Array.isArray(value) && value.some((c) => String(c).endsWith('/0'))) {
      out.push({ rule: 'ingress-world', subject: `${name}: ${key}`, message: 'contains a /0 range' });
    }
  }
  out.push(...checkSecretText(name, text));
  return out;
}

export function checkSecretText(name, text) {
  return SECRET_TEXT.filter(([pattern]) => pattern.test(text))
    .map(([, what]) => ({ rule: 'no-secrets', subject: name, message: `contains ${what}` }));
}

/** Every variable has a type and a description; no secret-named variable without sensitive = true. */
export function checkVariables(files) {
  const out = [];
  for (const { json } of files) {
    for (const [name, [decl]] of Object.entries(json.variable ?? {})) {
      if (!decl.type) out.push({ rule: 'variable-typed', subject: `var.${name}`, message: 'has no type' });
      if (!decl.description?.trim()) out.push({ rule: 'variable-described', subject: `var.${name}`, message: 'has no description' });
      if (SECRET_NAME.test(name) && decl.sensitive !== true) out.push({ rule: 'no-secrets', subject: `var.${name}`, message: 'a secret-named variable must be sensitive (better: read it from the environment)' });
    }
  }
  return out;
}

/** Literal secrets in arguments (provider tokens, keys) and in the text. */
export function checkSecrets(files) {
  const out = [];
  const walk = (value, path) => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, path));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (SECRET_NAME.test(k) && typeof v === 'string' && v !== '' && !isExpression(v)) {
          out.push({ rule: 'no-secrets', subject: `${path}.${k}`, message: 'literal secret value; read it from the environment' });
        }
        walk(v, `${path}.${k}`);
      }
    }
  };
  for (const { file, text, json } of files) {
    walk(json.provider ?? {}, 'provider');
    walk(json.resource ?? {}, 'resource');
    walk(json.locals ?? {}, 'locals');
    out.push(...checkSecretText(file, text));
  }
  return out;
}

/** A root keeps state remotely, encrypted, with locking. */
export function checkBackend(files) {
  const backends = files.flatMap(({ json }) => (json.terraform ?? []).flatMap((t) => Object.entries(t.backend ?? {})));
  if (backends.length === 0) return [{ rule: 'remote-backend', subject: 'terraform', message: 'no backend: state would stay on the machine that ran apply' }];
  const out = [];
  for (const [type, [cfg]] of backends) {
    if (type === 'remote' || type === 'cloud') continue;
    if (type !== 's3') { out.push({ rule: 'remote-backend', subject: `backend ${type}`, message: 'use the s3 backend (ADR 0021)' }); continue; }
    if (cfg.use_lockfile !== true && !cfg.dynamodb_table) out.push({ rule: 'state-locking', subject: 'backend s3', message: 'set use_lockfile = true' });
    if (cfg.encrypt !== true) out.push({ rule: 'state-encryption', subject: 'backend s3', message: 'set encrypt = true' });
  }
  return out;
}

/** Every provider used is pinned to the exact version whose schema the check used; Terraform is bounded. */
export function checkPins(files) {
  const out = [];
  const used = new Set();
  for (const { json } of files) {
    for (const kind of ['resource', 'data']) for (const type of Object.keys(json[kind] ?? {})) used.add(type.split('_')[0]);
    for (const name of Object.keys(json.provider ?? {})) used.add(name);
  }
  const terraformBlocks = files.flatMap(({ json }) => json.terraform ?? []);
  if (!terraformBlocks.some((t) => t.required_version)) out.push({ rule: 'providers-pinned', subject: 'terraform', message: 'no required_version' });
  const required = Object.assign({}, ...terraformBlocks.flatMap((t) => t.required_providers ?? []));
  for (const name of used) {
    const pin = providers[name];
    const req = required[name];
    if (!req) { out.push({ rule: 'providers-pinned', subject: name, message: 'not in required_providers' }); continue; }
    if (pin && req.source !== pin.source) out.push({ rule: 'providers-pinned', subject: name, message: `source ${req.source}, expected ${pin.source}` });
    const version = String(req.version ?? '').replace(/^=\s*/, '');
    if (pin && version !== pin.providerVersion) {
      out.push({ rule: 'providers-pinned', subject: name, message: `version "${req.version}" must be exactly ${pin.providerVersion}, the version the schema check uses` });
    }
  }
  return out;
}

/** Cloudflare: every A/AAAA/CNAME record proxied unless its proxied flag is computed from the
 * module's allow-list; zone TLS settings strict. */
export function checkCloudflare(files) {
  const out = [];
  for (const { json } of files) {
    for (const [name, r] of each(json, 'resource', 'cloudflare_dns_record')) {
      if (['A', 'AAAA', 'CNAME'].includes(r.type) && r.proxied !== true && !isExpression(r.proxied)) {
        out.push({ rule: 'cloudflare-proxied', subject: name, message: `${r.type} record not proxied: it would publish the origin address` });
      }
    }
    const records = each(json, 'resource', 'cloudflare_dns_record');
    const rateLimits = each(json, 'resource', 'cloudflare_ruleset').filter(([, r]) => r.phase === 'http_ratelimit');
    if (records.length > 0 && rateLimits.length === 0) {
      out.push({ rule: 'cloudflare-rate-limit', subject: 'zone', message: 'records are published without a rate-limiting ruleset (phase http_ratelimit)' });
    }
    for (const [name, r] of rateLimits) {
      for (const rule of r.rules ?? []) {
        if (rule.action !== 'block' && !/challenge/.test(rule.action ?? '')) out.push({ rule: 'cloudflare-rate-limit', subject: name, message: `action "${rule.action}" does not stop the client` });
        if (!rule.ratelimit) out.push({ rule: 'cloudflare-rate-limit', subject: name, message: 'rule without ratelimit parameters' });
      }
    }
    const settings = {};
    for (const [, s] of each(json, 'resource', 'cloudflare_zone_setting')) {
      if (!isExpression(s.setting_id)) settings[s.setting_id] = s.value;
    }
    for (const l of json.locals ?? []) Object.assign(settings, l.zone_settings ?? {});
    if (Object.keys(settings).length === 0) continue;
    const want = { ssl: 'strict', always_use_https: 'on', min_tls_version: '1.2' };
    for (const [id, value] of Object.entries(want)) {
      if (settings[id] !== value) out.push({ rule: 'cloudflare-tls', subject: id, message: `must be "${value}", is ${JSON.stringify(settings[id])}` });
    }
    if (settings.security_header?.strict_transport_security?.enabled !== true) {
      out.push({ rule: 'cloudflare-tls', subject: 'security_header', message: 'HSTS must be enabled' });
    }
  }
  return out;
}

/** Disks encrypted, IMDSv2 only, S3 state bucket versioned/encrypted/private. */
export function checkAws(files) {
  const out = [];
  for (const { json } of files) {
    for (const [name, vm] of each(json, 'resource', 'aws_instance')) {
      if (vm.metadata_options?.[0]?.http_tokens !== 'required') out.push({ rule: 'aws-imdsv2', subject: name, message: 'metadata_options.http_tokens must be "required"' });
      if (vm.root_block_device?.[0]?.encrypted !== true) out.push({ rule: 'aws-encryption', subject: name, message: 'root_block_device must be encrypted' });
      if (vm.associate_public_ip_address === true) out.push({ rule: 'aws-public-ip', subject: name, message: 'use the Elastic IP, not an ephemeral address' });
    }
    for (const [name, v] of each(json, 'resource', 'aws_ebs_volume')) {
      if (v.encrypted !== true) out.push({ rule: 'aws-encryption', subject: name, message: 'EBS volume must be encrypted' });
    }
    for (const [name] of each(json, 'resource', 'aws_s3_bucket')) {
      const refers = (type) => each(json, 'resource', type).some(([, r]) => String(r.bucket).includes(`aws_s3_bucket.${name}.`));
      for (const type of ['aws_s3_bucket_versioning', 'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_bucket_public_access_block']) {
        if (!refers(type)) out.push({ rule: 'state-encryption', subject: `aws_s3_bucket.${name}`, message: `has no ${type}` });
      }
    }
  }
  return out;
}

/** The Terraform workflow: least privilege, OIDC instead of keys, actions pinned by commit, apply
 * only on main behind the production environment, plan (and fmt/validate) on pull requests. */
export function checkWorkflow(wf) {
  const out = [];
  const add = (rule, subject, message) => out.push({ rule, subject, message });
  const text = JSON.stringify(wf);
  if (!wf.permissions || Object.keys(wf.permissions).length > 0) add('workflow-permissions', 'workflow', 'top-level permissions must be {} (each job asks for its own)');
  if (/AWS_(SECRET_)?ACCESS_KEY|aws-access-key-id|aws-secret-access-key/.test(text)) add('workflow-oidc', 'workflow', 'long-lived AWS keys: use role-to-assume through OIDC');
  const jobs = Object.entries(wf.jobs ?? {});
  const runs = (job) => (job.steps ?? []).map((s) => s.run ?? '').join('\n');
  for (const [name, job] of jobs) {
    for (const step of job.steps ?? []) {
      if (step.uses && !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(step.uses)) add('workflow-pinned', `${name}: ${step.uses}`, 'pin actions by full commit SHA');
      if (/configure-aws-credentials/.test(step.uses ?? '') && !step.with?.['role-to-assume']) add('workflow-oidc', name, 'configure-aws-credentials without role-to-assume');
    }
    if (/configure-aws-credentials/.test(JSON.stringify(job.steps)) && job.permissions?.['id-token'] !== 'write') add('workflow-oidc', name, 'OIDC needs permissions.id-token: write');
    for (const [scope, level] of Object.entries(job.permissions ?? {})) {
      if (level === 'write' && !['id-token', 'pull-requests'].includes(scope)) add('workflow-permissions', name, `${scope}: write is not needed`);
    }
    if (/terraform apply/.test(runs(job))) {
      if (job.environment !== 'production' && job.environment?.name !== 'production') add('workflow-apply-gate', name, 'apply must run in the production environment (required reviewers)');
      if (!/github\.ref == 'refs\/heads\/main'/.test(job.if ?? '') || !/github\.event_name == 'push'/.test(job.if ?? '')) add('workflow-apply-gate', name, 'apply must run only on pushes to main');
      if (/-auto-approve/.test(runs(job))) add('workflow-apply-gate', name, 'apply a reviewed plan file, not -auto-approve');
    }
  }
  const pr = jobs.find(([, job]) => /pull_request/.test(job.if ?? ''));
  if (!pr) add('workflow-plan', 'workflow', 'no job for pull requests');
  else {
    for (const command of ['terraform fmt -check', 'terraform validate', 'terraform plan']) {
      if (!runs(pr[1]).includes(command)) add('workflow-plan', pr[0], `missing "${command}"`);
    }
    if (!/createComment|updateComment/.test(JSON.stringify(pr[1].steps))) add('workflow-plan', pr[0], 'the plan is not posted as a comment');
  }
  return out;
}
