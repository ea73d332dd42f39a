// Checks what a built .vsix holds: `node scripts/check-vsix.js yibaolang-0.1.0.vsix` (build.sh runs it).
// A .vsix is a zip file; its central directory lists every entry, so no zip library is needed.
'use strict';

const fs = require('node:fs');
const zlib = require('node:zlib');

function entries(file) {
  const data = fs.readFileSync(file);
  let end = data.length - 22;
  while (end >= 0 && data.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error(`${file} 不是 zip 文件`);
  const count = data.readUInt16LE(end + 10);
  let at = data.readUInt32LE(end + 16);
  const found = new Map();
  for (let i = 0; i < count; i += 1) {
    if (data.readUInt32LE(at) !== 0x02014b50) throw new Error('zip 目录损坏');
    const method = data.readUInt16LE(at + 10);
    const size = data.readUInt32LE(at + 20);
    const nameLength = data.readUInt16LE(at + 28);
    const extra = data.readUInt16LE(at + 30) + data.readUInt16LE(at + 32);
    const local = data.readUInt32LE(at + 42);
    const name = data.toString('utf8', at + 46, at + 46 + nameLength);
    const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28);
    found.set(name, { method, raw: data.subarray(start, start + size) });
    at += 46 + nameLength + extra;
  }
  return found;
}

function text(entry) {
  return (entry.method === 8 ? zlib.inflateRawSync(entry.raw) : entry.raw).toString('utf8');
}

function check(file) {
  const found = entries(file);
  const names = [...found.keys()];
  const problems = [];
  for (const required of ['extension.vsixmanifest', 'extension/package.json', 'extension/dist/extension.js',
    'extension/syntaxes/yibaolang.tmLanguage.json', 'extension/language-configuration.json']) {
    if (!found.has(required)) problems.push(`缺少 ${required}`);
  }
  if (!names.some((n) => /^extension\/LICENSE(\.txt|\.md)?$/.test(n))) problems.push('缺少 LICENSE');
  if (!names.some((n) => /^extension\/readme\.md$/i.test(n))) problems.push('缺少 README.md');
  for (const name of names) {
    if (/^extension\/(node_modules|test|scripts|\.vscode)\//.test(name) || name === 'extension/extension.js') {
      problems.push(`不应打包 ${name}`);
    }
  }
  if (found.has('extension/dist/extension.js')) {
    const bundle = text(found.get('extension/dist/extension.js'));
    // The client library is inside the bundle: nothing but vscode itself is required at run time.
    if (!bundle.includes('yibaolang.restartServer')) problems.push('dist/extension.js 里没有扩展的代码');
    if (/require\(["']vscode-languageclient/.test(bundle)) problems.push('dist/extension.js 没有打包 vscode-languageclient');
  }
  if (found.has('extension/package.json')) {
    const manifest = JSON.parse(text(found.get('extension/package.json')));
    if (manifest.main !== './dist/extension.js') problems.push(`main 应为 ./dist/extension.js，而不是 ${manifest.main}`);
    if (!manifest.repository) problems.push('package.json 缺少 repository');
  }
  return problems;
}

if (require.main === module) {
  const problems = check(process.argv[2]);
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
}

module.exports = { check, entries };
