// chdb lists prebuilt-library packages for four platforms as optionalDependencies, but the registry
// serves only some of them; npm then leaves the absent ones out of package-lock.json and `npm ci`
// refuses the lock as out of sync. This records each absent one as an optional, platform-restricted
// entry, which npm ci accepts and skips on every other platform. Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const chdb = lock.packages['node_modules/chdb'];
const platforms = {
  'lib-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'lib-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'lib-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'lib-linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
};
let added = 0;
for (const [name, version] of Object.entries(chdb.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const platform = platforms[name.replace('@chdb/', '')];
  if (!platform) throw new Error(`no platform known for ${name}`);
  lock.packages[key] = { version, license: 'Apache-2.0', optional: true, ...platform };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} absent chdb platform package(s)`);
