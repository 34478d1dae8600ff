// `npm run package`: type-check, bundle the extension, bundle the server wheels, and write
// spark-lsp-<target>.vsix. Platform-specific (`vsce --target`) because the dependency wheels are.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, hostTarget } from './bundle-server.mjs';

const extensionDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(extensionDir, 'node_modules', '.bin', name);
const run = (command, args) => execFileSync(command, args, { cwd: extensionDir, stdio: 'inherit' });

const target = process.env.SPARK_BUNDLE_TARGET || hostTarget();
run(bin('tsc'), ['-p', '.', '--noEmit']);
run(process.execPath, ['scripts/build.mjs', '--minify']);
bundle({ target });
const vsix = `spark-lsp-${target}.vsix`;
// No public repository yet: vsce would otherwise stop and ask.
run(bin('vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--target', target, '--out', vsix]);
console.log(`packaged ${path.join(extensionDir, vsix)}`);
