// The API the kernel suites use, in Node and in Chromium alike: the platform-free core (test/setup-node.ts and
// test/setup-browser.ts install each host's platform).

export * from '../../src/index.js';
