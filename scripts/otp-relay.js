#!/usr/bin/env node
// The `otp-relay` command (package.json's `bin`): `npx otp-relay code <CODE>` in a checkout. Like
// `npm start` (scripts/start.js), it compiles first when dist/ is missing or older than the sources,
// then runs dist/cli/main.js in this same process. Without src/ (an installed copy, the image), it
// runs what is built.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (existsSync(new URL('../src/', import.meta.url))) {
  const { ensureBuilt } = await import('./ensure-build.js');
  ensureBuilt();
}
await import('../dist/cli/main.js');
