export * from '../../src/sandbox/etna-server.js';
