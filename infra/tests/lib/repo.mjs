// Paths of the infrastructure under test.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const paths = {
  root,
  terraform: join(root, 'infra/terraform'),
  providers: join(root, 'infra/tests/providers.json'),
  fixtures: join(root, 'infra/tests/fixtures'),
  workflow: join(root, '.github/workflows/terraform.yml'),
};
