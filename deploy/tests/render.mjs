// Writes the files as the tools see them at run time, for linters that cannot interpolate:
//   node render.mjs compose <env-file> <in.yaml> <out.yaml>   Compose interpolation ($$ kept)
//   node render.mjs traefik <env-file> <in.yml> <out.yml>     Traefik file-provider template
import { readFileSync, writeFileSync } from 'node:fs';
import { interpolate, parseEnvFile } from './lib/compose.mjs';
import { renderTemplate } from './lib/traefik.mjs';
import { traefikEnv } from './lib/repo.mjs';

const [mode, envFile, input, output] = process.argv.slice(2);
const env = parseEnvFile(envFile);
const text = readFileSync(input, 'utf8');
if (mode === 'compose') {
  const project = (/^name:\s*(\S+)/m.exec(text) ?? [])[1] ?? 'shortener';
  writeFileSync(output, interpolate(text, { COMPOSE_PROJECT_NAME: project, ...env }, { keepEscapes: true }).text);
} else if (mode === 'traefik') {
  writeFileSync(output, renderTemplate(text, traefikEnv(env)));
} else {
  console.error('usage: render.mjs compose|traefik <env-file> <in> <out>');
  process.exit(2);
}
