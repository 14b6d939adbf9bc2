// Paths of the files under test, and the environment Traefik's templates see in compose.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const compose = join(root, 'deploy/compose');

export const paths = {
  root,
  composeDir: compose,
  compose: join(compose, 'compose.yaml'),
  composeObservability: join(compose, 'compose.observability.yaml'),
  envExample: join(compose, '.env.example'),
  traefikStatic: join(compose, 'traefik/traefik.yml'),
  traefikDynamic: join(compose, 'traefik/dynamic'),
  dockerfile: join(root, 'apps/Dockerfile'),
  dockerignore: join(root, '.dockerignore'),
  observability: join(root, 'observability'),
  fixtures: join(root, 'deploy/tests/fixtures'),
};

/** The variables compose.yaml passes to Traefik (its `environment:`), from .env defaults. */
export function traefikEnv(env) {
  return {
    API_REPLICAS: env.API_REPLICAS ?? '2',
    COMPOSE_PROJECT_NAME: env.COMPOSE_PROJECT_NAME ?? 'shortener',
    DOMAIN: env.DOMAIN,
    TRAEFIK_CERT_RESOLVER: env.TRAEFIK_CERT_RESOLVER ?? '',
    TRAEFIK_CLIENT_IP_DEPTH: env.TRAEFIK_CLIENT_IP_DEPTH ?? '0',
    ADMIN_SOURCE_RANGES: env.ADMIN_SOURCE_RANGES ?? '0.0.0.0/0,::/0',
  };
}
