// Policy tests over the shipped compose stack and Traefik configuration (node --test).
// Each rule is checked on the real files (no violation allowed) and on deliberately bad fixtures
// (the violation must be reported), so a rule that stops working fails here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCompose, parseEnvFile, parseYaml } from './lib/compose.mjs';
import { loadDynamicDirectory, renderTemplate } from './lib/traefik.mjs';
import {
  CAP_ADD_ALLOWED, DOCKER_SOCKET_ALLOWED, IMAGE_SOURCES, NO_PROBE_POSSIBLE, ONE_SHOT_JOBS, ROOT_ALLOWED,
  checkCompose, checkImageSources, checkTraefikDynamic, checkTraefikStatic, parseDockerfile,
} from './lib/policy.mjs';
import { paths, traefikEnv } from './lib/repo.mjs';

const env = parseEnvFile(paths.envExample);
const dockerfile = parseDockerfile(readFileSync(paths.dockerfile, 'utf8'));
const appTargets = ['api', 'worker', 'migrator', 'console'];
const ctx = {
  allowedImages: new Set([
    ...Object.entries(env).filter(([k]) => k.endsWith('_IMAGE')).map(([, v]) => v),
    ...appTargets.map((t) => `${env.APP_IMAGE_PREFIX}/${t}:${env.APP_VERSION}`),
  ]),
  allowedPorts: new Set([env.HTTP_PORT, env.HTTPS_PORT]),
  dockerfileStages: dockerfile.stages,
};

const base = loadCompose([paths.compose], env).model;
const full = loadCompose([paths.compose, paths.composeObservability], env).model;
const dynamic = loadDynamicDirectory(paths.traefikDynamic, traefikEnv(env)).config;
const staticConfig = parseYaml(readFileSync(paths.traefikStatic, 'utf8'));

const composeRules = ['pinned-image', 'healthcheck', 'memory-limit', 'non-root', 'published-port',
  'literal-secret', 'no-new-privileges', 'cap-drop-all', 'privileged', 'read-only', 'log-rotation',
  'restart', 'start-order', 'docker-socket', 'healthcheck-tool'];
const traefikRules = ['router-tls', 'router-middlewares', 'router-service', 'internal-path', 'tls-options',
  'sni-strict', 'middleware-order'];
const staticRules = ['dashboard-auth', 'https-redirect', 'trusted-proxies', 'acme-email'];

const describeViolations = (list) => list.map((v) => `${v.rule} ${v.subject}: ${v.message}`).join('\n');

describe('the shipped stack satisfies every rule', () => {
  const composeViolations = [...checkCompose(base, ctx), ...checkCompose(full, ctx)];
  for (const rule of composeRules) {
    test(`compose: ${rule}`, () => {
      const found = composeViolations.filter((v) => v.rule === rule);
      assert.equal(found.length, 0, describeViolations(found));
    });
  }
  test('image-registry: every image comes from where its project publishes that version', () => {
    const found = checkImageSources(env);
    assert.equal(found.length, 0, describeViolations(found));
  });
  const traefikViolations = checkTraefikDynamic(dynamic);
  for (const rule of traefikRules) {
    test(`traefik dynamic: ${rule}`, () => {
      const found = traefikViolations.filter((v) => v.rule === rule);
      assert.equal(found.length, 0, describeViolations(found));
    });
  }
  const staticViolations = checkTraefikStatic(staticConfig);
  for (const rule of staticRules) {
    test(`traefik static: ${rule}`, () => {
      const found = staticViolations.filter((v) => v.rule === rule);
      assert.equal(found.length, 0, describeViolations(found));
    });
  }

  test('every policy exception names a service of the stack', () => {
    const lists = { ONE_SHOT_JOBS, NO_PROBE_POSSIBLE, ROOT_ALLOWED, CAP_ADD_ALLOWED, DOCKER_SOCKET_ALLOWED };
    for (const key of Object.keys(IMAGE_SOURCES)) assert.ok(key in env, `IMAGE_SOURCES lists ${key}, which .env.example no longer pins`);
    for (const [list, entries] of Object.entries(lists)) {
      for (const service of Object.keys(entries)) {
        assert.ok(full.services[service], `${list} lists ${service}, which is not a service any more`);
      }
    }
  });

  test('strict SNI holds with and without the ACME resolver', () => {
    const acme = loadDynamicDirectory(paths.traefikDynamic, { ...traefikEnv(env), TRAEFIK_CERT_RESOLVER: 'cloudflare' }).config;
    assert.deepEqual(checkTraefikDynamic(acme).filter((v) => v.rule === 'sni-strict'), []);
    assert.equal(acme.tls.certificates.length, 0, 'the local certificate must not compete with the resolver\'s for DOMAIN');
    assert.equal(dynamic.tls.certificates.length, 1);
  });

  test('every router is served by an API replica, the web console, an admin UI or Traefik itself', () => {
    const services = Object.values(dynamic.http.routers).map((r) => r.service);
    assert.deepEqual([...new Set(services)].sort(), ['alertmanager', 'api', 'api@internal', 'console', 'grafana', 'prometheus']);
  });
});

describe('the policy reports each violation of the bad fixtures', () => {
  const bad = loadCompose([join(paths.fixtures, 'bad-compose.yaml')], env).model;
  const composeViolations = checkCompose(bad, ctx);
  const badDynamic = parseYaml(renderTemplate(readFileSync(join(paths.fixtures, 'bad-traefik/dynamic.yml'), 'utf8'), traefikEnv(env)));
  const traefikViolations = checkTraefikDynamic(badDynamic);
  const staticViolations = checkTraefikStatic(parseYaml(readFileSync(join(paths.fixtures, 'bad-traefik/traefik.yml'), 'utf8')));

  const expected = [
    ['pinned-image', 'web', /no explicit tag/], ['pinned-image', 'db', /no explicit tag/],
    ['pinned-image', 'cache', /not pinned in \.env\.example/],
    ['healthcheck', 'web'], ['healthcheck', 'cache'],
    ['memory-limit', 'web'],
    ['non-root', 'web', /no user/], ['non-root', 'db', /root/],
    ['published-port', 'web', /only traefik/], ['published-port', 'cache', /network_mode: host/],
    ['published-port', 'traefik', /host port 8443/], ['published-port', 'traefik', /explicit interface/],
    ['literal-secret', 'web', /DB_PASSWORD/], ['literal-secret', 'db', /ConnectionStrings__db/],
    ['literal-secret', 'db', /POSTGRES_PASSWORD_FILE/], ['literal-secret', 'db', /command argument/],
    ['no-new-privileges', 'web'], ['cap-drop-all', 'web', /lacks ALL/], ['cap-drop-all', 'cache', /SYS_ADMIN/],
    ['privileged', 'cache'], ['read-only', 'web'], ['log-rotation', 'web'], ['restart', 'web'],
    ['start-order', 'traefik', /migrator/], ['docker-socket', 'cache'],
    ['docker-socket', 'agent', /\/var\/run/], ['start-order', 'agent', /collector has no healthcheck/],
    ['healthcheck-tool', 'agent', /curl/], ['healthcheck-tool', 'shell-probe', /runs sh/],
    ['healthcheck-tool', 'shell-probe', /runs wget/],
  ];
  for (const [rule, subject, message] of expected) {
    test(`compose: ${rule} on ${subject}${message ? ` (${message.source})` : ''}`, () => {
      assert.ok(composeViolations.some((v) => v.rule === rule && v.subject === subject && (!message || message.test(v.message))),
        `not reported; got:\n${describeViolations(composeViolations)}`);
    });
  }

  const imageViolations = checkImageSources(parseEnvFile(join(paths.fixtures, 'bad-images.env')));
  for (const [key, message] of [['CADVISOR_IMAGE', /ghcr\.io\/google\/cadvisor/], ['GRAFANA_IMAGE', /grafana\/grafana/],
    ['MYSTERY_IMAGE', /no entry/]]) {
    test(`image-registry on ${key} (${message.source})`, () => {
      assert.ok(imageViolations.some((v) => v.subject === key && message.test(v.message)), describeViolations(imageViolations));
    });
  }
  test('image-registry accepts docker.io/ spelled out', () => {
    assert.ok(!imageViolations.some((v) => v.subject === 'PROMETHEUS_IMAGE'), describeViolations(imageViolations));
  });

  const expectedTraefik = [
    ['router-tls', 'everything', /no tls/], ['router-tls', 'everything', /listens on web/],
    ['router-middlewares', 'everything', /security-headers/], ['router-middlewares', 'everything', /rate-limit/],
    ['router-middlewares', 'admin-leak', /not-defined/], ['router-middlewares', 'admin-leak', /rate-limit/],
    ['router-middlewares', 'grafana', /security-headers/], ['router-service', 'grafana', /nowhere/],
    ['internal-path', 'everything', /\/metrics/], ['internal-path', 'everything', /\/readyz/],
    ['internal-path', 'admin-leak', /\/admin\/faults/], ['internal-path', 'grafana', /\/metrics/],
    ['tls-options', 'default', /VersionTLS10/], ['tls-options', 'default', /X25519MLKEM768/],
    ['sni-strict', 'admin-leak', /every handshake fails/], ['sni-strict', 'admin-ui', /every handshake fails/],
    ['middleware-order', 'admin-ui', /rate limit/], ['middleware-order', 'admin-ui', /security headers/],
    ['middleware-order', 'admin-ui', /IP allow list/],
  ];
  for (const [rule, subject, message] of expectedTraefik) {
    test(`traefik dynamic: ${rule} on ${subject} (${message.source})`, () => {
      assert.ok(traefikViolations.some((v) => v.rule === rule && v.subject === subject && message.test(v.message)),
        `not reported; got:\n${describeViolations(traefikViolations)}`);
    });
  }
  for (const [rule, subject] of [['dashboard-auth', 'api'], ['https-redirect', 'web'], ['trusted-proxies', 'websecure'],
    ['acme-email', 'cloudflare']]) {
    test(`traefik static: ${rule} on ${subject}`, () => {
      assert.ok(staticViolations.some((v) => v.rule === rule && v.subject === subject), describeViolations(staticViolations));
    });
  }
});
