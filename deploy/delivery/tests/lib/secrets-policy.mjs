// No plaintext secret in the repository: every file under a `secrets/` directory (README.md,
// recipients and owners lists excepted) and every `*.env` file must be age ciphertext.
import { readFileSync } from 'node:fs';
import { join, basename } from 'node:path';

const ALLOWED = new Set(['README.md', 'recipients.txt', 'owners.txt', '.gitignore', '.gitkeep']);
const AGE_BINARY = 'age-encryption.org/v1\n';
const AGE_ARMOR = '-----BEGIN AGE ENCRYPTED FILE-----';

export function mustBeEncrypted(path) {
  return (/(^|\/)secrets\//.test(path) && !ALLOWED.has(basename(path))) || /\.env$/.test(path);
}

export function plaintextSecrets(root, paths) {
  return paths.filter(mustBeEncrypted).filter((p) => {
    const head = readFileSync(join(root, p)).subarray(0, 64).toString('latin1');
    return !head.startsWith(AGE_BINARY) && !head.startsWith(AGE_ARMOR);
  });
}

// .trivyignore: each CVE entry is preceded by "# Reviewed by WHO YYYY-MM-DD: why" and carries an
// exp: date at most 90 days after that review.
export function trivyignoreViolations(text) {
  const out = [];
  let review = null;
  for (const line of text.split('\n')) {
    const reviewed = line.match(/^#\s*Reviewed by \S.*?(\d{4}-\d{2}-\d{2})/);
    if (reviewed) { review = new Date(reviewed[1]); continue; }
    if (/^\s*(#|$)/.test(line)) continue;
    const entry = line.match(/^(CVE-\d{4}-\d+|GHSA-[\w-]+)(?:\s+exp:(\d{4}-\d{2}-\d{2}))?\s*$/);
    if (!entry) { out.push(`not a single CVE/GHSA id with an optional exp: "${line}"`); review = null; continue; }
    if (!review) out.push(`${entry[1]} has no "# Reviewed by WHO DATE: why" line above it`);
    if (!entry[2]) out.push(`${entry[1]} has no exp: date`);
    else if (review && (new Date(entry[2]) - review) / 86400000 > 90) out.push(`${entry[1]} expires more than 90 days after its review`);
    review = null;
  }
  return out;
}
