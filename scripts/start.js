#!/usr/bin/env node
// `npm start`: compiles only when dist/ is missing or older than the sources (ensure-build.js), then
// runs the relay, dist/main.js, in this same process. A `prestart` hook would cost a shell and a
// second Node start (about 0.1 s) before the relay's own; this way an unchanged checkout starts in
// what npm itself takes on top of `node dist/main.js`.
import { ensureBuilt } from './ensure-build.js';

ensureBuilt();
await import('../dist/main.js');
