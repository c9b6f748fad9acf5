// Every Node test runs on Node's platform (Dawn, the file system, sharp), as `import 'graft'` gives users.
import '../src/node/index.js';
