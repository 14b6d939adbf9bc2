// Policy rules for GitHub Actions workflows. Each rule takes a parsed workflow
// ({ file, text, doc }) and returns a list of violations (strings); [] means it passes.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export function loadWorkflow(file) {
  const text = readFileSync(file, 'utf8');
  return { file, text, doc: parse(text) };
}

const jobsOf = (wf) => Object.entries(wf.doc.jobs ?? {});
const stepsOf = (job) => job.steps ?? [];
const triggersOf = (wf) => {
  const on = wf.doc.on ?? wf.doc[true]; // YAML 1.1 parsers read a bare `on` as true
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on;
  return Object.keys(on ?? {});
};
const isLocal = (uses) => uses.startsWith('./') || uses.startsWith('docker://');

/** Top-level `permissions: {}`, a grant on every job, never write-all/read-all. */
export function leastPrivilege(wf) {
  const out = [];
  const top = wf.doc.permissions;
  if (top === undefined || typeof top !== 'object' || top === null || Object.keys(top).length > 0) {
    out.push('top-level permissions must be {} (each job grants what it needs)');
  }
  for (const [name, job] of jobsOf(wf)) {
    if (job.permissions === undefined) out.push(`job ${name} has no permissions: block`);
  }
  if (/\b(write-all|read-all)\b/.test(wf.text)) out.push('write-all/read-all is never allowed');
  return out;
}

/** Every third-party action (and reusable workflow) pinned to a full commit SHA, version in a comment. */
export function actionsPinned(wf) {
  const out = [];
  for (const line of wf.text.split('\n')) {
    const m = line.match(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/);
    if (!m || isLocal(m[1])) continue;
    const [, ref, rest] = m;
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref)) out.push(`${ref} is not pinned to a full commit SHA`);
    else if (!/#\s*v\d/.test(rest)) out.push(`${ref} has no "# vX.Y.Z" version comment`);
  }
  return out;
}

/** Every `with:` key is an input the pinned action declares (tables read from action.yml at the SHA). */
export function actionInputsKnown(wf, table) {
  const out = [];
  for (const [name, job] of jobsOf(wf)) {
    for (const step of stepsOf(job)) {
      if (!step.uses || isLocal(step.uses)) continue;
      const action = table[step.uses];
      if (!action) { out.push(`${name}: ${step.uses} is not in action-inputs.json (read its action.yml at that SHA)`); continue; }
      for (const key of Object.keys(step.with ?? {})) {
        if (!action.inputs.includes(key)) out.push(`${name}: ${step.uses} has no input "${key}"`);
      }
      for (const key of action.required) {
        if (!(key in (step.with ?? {}))) out.push(`${name}: ${step.uses} requires input "${key}"`);
      }
    }
  }
  return out;
}

/** pull_request_target / workflow_run run with secrets: they must never check out the PR's code. */
export function noPrivilegedCheckoutOfPullRequests(wf) {
  const triggers = triggersOf(wf);
  if (!triggers.includes('pull_request_target') && !triggers.includes('workflow_run')) return [];
  const out = [];
  for (const [name, job] of jobsOf(wf)) {
    for (const step of stepsOf(job)) {
      const w = step.with ?? {};
      if (step.uses?.startsWith('actions/checkout@') && (w.ref !== undefined || w.repository !== undefined || w['allow-unsafe-pr-checkout'])) {
        out.push(`${name}: checks out pull request code (${w.ref ?? w.repository ?? 'allow-unsafe-pr-checkout'}) in a privileged trigger`);
      }
      if (/\bgit\s+(fetch|checkout|pull)\b[^\n]*(head|pull\/)/.test(step.run ?? '')) {
        out.push(`${name}: fetches pull request code with git in a privileged trigger`);
      }
    }
  }
  return out;
}

/** Secrets and event data reach `run:` only through env (no template injection), and are never printed. */
export function secretsAndInputsStayInEnv(wf) {
  const out = [];
  const untrusted = /\$\{\{\s*(secrets\.|inputs\.|github\.event\.|github\.head_ref|vars\.)/;
  for (const [name, job] of jobsOf(wf)) {
    for (const step of stepsOf(job)) {
      const run = step.run ?? '';
      if (untrusted.test(run)) out.push(`${name}: "${step.name ?? step.uses ?? 'step'}" expands secrets/inputs/event data inside run: (use env:)`);
      const secretVars = Object.entries({ ...job.env, ...step.env })
        .filter(([, v]) => typeof v === 'string' && /\$\{\{\s*secrets\./.test(v)).map(([k]) => k);
      if (secretVars.length && /(^|\n)\s*set\s+-[a-z]*x/.test(run)) out.push(`${name}: set -x in a step that holds secrets`);
      for (const v of secretVars) {
        for (const line of run.split('\n')) {
          if (new RegExp(`\\$\\{?${v}\\b`).test(line) && /\b(echo|printf|cat)\b/.test(line) && !/>\s*\S/.test(line)) {
            out.push(`${name}: prints secret ${v} to the log`);
          }
        }
      }
    }
  }
  return out;
}

/** Superseded runs are cancelled; deploys and releases are never cancelled half-way. */
export function concurrencyGroups(wf, { neverCancel = false } = {}) {
  const c = wf.doc.concurrency;
  if (!c?.group) return ['no concurrency group'];
  if (neverCancel && c['cancel-in-progress'] !== false) return ['cancel-in-progress must be false (a cancelled deploy cannot roll back)'];
  return [];
}

/** A job that holds the deploy key runs in the protected environment, so reviewers gate it. */
export function deployBehindEnvironment(wf, environment = 'production') {
  const out = [];
  for (const [name, job] of jobsOf(wf)) {
    const usesDeploySecret = /secrets\.DEPLOY_/.test(JSON.stringify(job));
    const env = typeof job.environment === 'string' ? job.environment : job.environment?.name;
    if (usesDeploySecret && !job.uses && env !== environment) out.push(`job ${name} uses deploy secrets outside environment "${environment}"`);
  }
  return out;
}

/** Images reach the VM only by digest: a validation step with the digest pattern runs before any ssh. */
export function deploysByDigest(wf) {
  const out = [];
  for (const [name, job] of jobsOf(wf)) {
    const steps = stepsOf(job);
    const firstRemote = steps.findIndex((s) => /\b(ssh|scp)\b/.test(s.run ?? ''));
    if (firstRemote < 0) continue;
    const validated = steps.slice(0, firstRemote).some((s) => (s.run ?? '').includes('@sha256:[0-9a-f]{64}'));
    if (!validated) out.push(`job ${name} reaches the VM without first checking every image is @sha256:<64 hex>`);
    for (const s of steps.slice(firstRemote)) {
      if (/:(latest|main|v\d[\w.]*)\b/.test(s.run ?? '') && /ghcr\.io/.test(s.run ?? '')) out.push(`job ${name} deploys an image by tag`);
    }
  }
  return out;
}

/** Every checkout drops its token after the step; every job has a timeout. */
export function hygiene(wf) {
  const out = [];
  for (const [name, job] of jobsOf(wf)) {
    if (!job.uses && job['timeout-minutes'] === undefined) out.push(`job ${name} has no timeout-minutes`);
    for (const step of stepsOf(job)) {
      if (step.uses?.startsWith('actions/checkout@') && step.with?.['persist-credentials'] !== false) {
        out.push(`job ${name}: checkout without persist-credentials: false`);
      }
    }
  }
  return out;
}
