// Builds the server's wheel from this repository and downloads the wheels of all its
// dependencies into bundled/wheels, so the extension installs the server offline
// (`pip install --no-index --find-links`) into a private environment on first start.
//
// Dependency wheels with compiled code are per Python version and platform: by default
// CPython 3.11-3.14 for the platform this runs on (about 26 MB for linux-x64).
//   SPARK_BUNDLE_PYTHONS=3.12,3.13   other Python versions
//   SPARK_BUNDLE_TARGET=linux-arm64  another VS Code target (linux-x64, linux-arm64, darwin-x64,
//                                    darwin-arm64, win32-x64)
//   SPARK_BUNDLE_PYTHON=/path/python the interpreter that runs pip (default: ../.venv, python3)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.resolve(here, '..');
const repo = path.resolve(extensionDir, '..');
const out = path.join(extensionDir, 'bundled');
const wheels = path.join(out, 'wheels');

export const DEFAULT_PYTHONS = ['3.11', '3.12', '3.13', '3.14'];

export function hostTarget() {
  return `${process.platform}-${process.arch}`;
}

/** pip `--platform` tags for a VS Code target (manylinux tags are not expanded by pip: list them). */
export function platformTags(target) {
  const manylinux = (arch) => [
    `manylinux2014_${arch}`,
    ...Array.from({ length: 12 }, (_, i) => `manylinux_2_${17 + i}_${arch}`),
  ];
  switch (target) {
    case 'linux-x64': return manylinux('x86_64');
    case 'linux-arm64': return manylinux('aarch64');
    case 'darwin-x64': return ['macosx_10_12_x86_64', 'macosx_10_9_x86_64', 'macosx_10_9_universal2'];
    case 'darwin-arm64': return ['macosx_11_0_arm64', 'macosx_10_9_universal2'];
    case 'win32-x64': return ['win_amd64'];
    default: throw new Error(`no wheel platform known for VS Code target ${target}`);
  }
}

function bundlePython() {
  if (process.env.SPARK_BUNDLE_PYTHON) return process.env.SPARK_BUNDLE_PYTHON;
  const venv = path.join(repo, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  return fs.existsSync(venv) ? venv : 'python3';
}

function pip(python, args) {
  execFileSync(python, ['-m', 'pip', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' },
  });
}

/** A copy of only what the wheel is built from, so the build leaves nothing in the checkout. */
function sourceCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-lsp-src-'));
  for (const name of ['pyproject.toml', 'README.md']) fs.copyFileSync(path.join(repo, name), path.join(dir, name));
  fs.cpSync(path.join(repo, 'server'), path.join(dir, 'server'), {
    recursive: true,
    filter: (source) => !/(__pycache__|\.egg-info)$/.test(source),
  });
  return dir;
}

export function bundle({ target = process.env.SPARK_BUNDLE_TARGET || hostTarget(), pythons } = {}) {
  pythons ??= (process.env.SPARK_BUNDLE_PYTHONS || DEFAULT_PYTHONS.join(',')).split(',').map((v) => v.trim()).filter(Boolean);
  const python = bundlePython();
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(wheels, { recursive: true });

  const source = sourceCopy();
  try {
    pip(python, ['wheel', '--quiet', '--no-deps', '--wheel-dir', wheels, source]);
  } finally {
    fs.rmSync(source, { recursive: true, force: true });
  }
  const wheel = fs.readdirSync(wheels).find((name) => name.startsWith('spark_lsp-') && name.endsWith('.whl'));
  if (!wheel) throw new Error('pip wheel produced no spark_lsp wheel');
  const version = wheel.split('-')[1];

  const platforms = platformTags(target).flatMap((tag) => ['--platform', tag]);
  for (const pythonVersion of pythons) {
    pip(python, [
      'download', '--quiet', '--only-binary=:all:', '--implementation', 'cp', '--python-version', pythonVersion,
      ...platforms, '--dest', wheels, path.join(wheels, wheel),
    ]);
  }

  // The private environment is rebuilt when this changes: the wheel's content, not its version,
  // so a rebuilt development wheel with the same version number is picked up too.
  const sha256 = createHash('sha256').update(fs.readFileSync(path.join(wheels, wheel))).digest('hex');
  const manifest = { version, wheel, sha256, pythons, platform: target };
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const bytes = fs.readdirSync(wheels).reduce((sum, name) => sum + fs.statSync(path.join(wheels, name)).size, 0);
  console.log(`bundled spark-lsp ${version} for ${target}, Python ${pythons.join(', ')}: ${fs.readdirSync(wheels).length} wheels, ${(bytes / 1e6).toFixed(1)} MB`);
  return manifest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) bundle();
