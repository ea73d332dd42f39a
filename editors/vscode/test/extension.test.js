// The extension's manifest and client, without VS Code: `vscode` and the
// language client are stand-ins that record what the extension asks of them.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const test = require('node:test');
const assert = require('node:assert/strict');

const ROOT = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('the manifest contributes the language, its file extension and the grammar', () => {
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'yibaolang');
  assert.deepEqual(language.extensions, ['.ybl']);
  assert.ok(fs.existsSync(path.join(ROOT, language.configuration)));
  const [grammar] = manifest.contributes.grammars;
  assert.equal(grammar.language, 'yibaolang');
  assert.equal(grammar.scopeName, 'source.yibaolang');
  const tm = JSON.parse(fs.readFileSync(path.join(ROOT, grammar.path), 'utf8'));
  assert.equal(tm.scopeName, grammar.scopeName);
  assert.ok(fs.existsSync(path.join(ROOT, manifest.main)));
  assert.ok(manifest.activationEvents.includes('onLanguage:yibaolang'));
  assert.ok(manifest.dependencies['vscode-languageclient']);
});

test('language configuration: # comments and brackets', () => {
  const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'language-configuration.json'), 'utf8'));
  assert.equal(config.comments.lineComment, '#');
  assert.deepEqual(config.brackets[0], ['(', ')']);
  const indent = new RegExp(config.indentationRules.increaseIndentPattern);
  assert.ok(indent.test('条款 "二、(五)" 深入实施大病保险制度'));
  assert.ok(indent.test('    定义 大病保险报销 : 金额 ='));
  assert.ok(indent.test('    参数 职工药店报销比例 : 比例'));
  assert.ok(!indent.test('    参数 居民门诊报销比例 : 比例 = 50%'));
  assert.ok(!indent.test('    定义 追回金额 : 金额 = 骗取金额'));
});

test('activate starts `yibaolang lsp` over stdio for yibaolang documents', async () => {
  const created = [];
  const settings = { 'server.command': '/opt/venv/bin/yibaolang', 'server.args': ['lsp'] };
  const vscode = {
    workspace: {
      workspaceFolders: [{ uri: { fsPath: '/work/policies' } }],
      getConfiguration: (section) => {
        assert.equal(section, 'yibaolang');
        return { get: (key) => settings[key] };
      },
    },
    window: { showErrorMessage: (message) => created.push({ error: message }) },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions });
      created.push(this);
    }
    start() { return Promise.resolve(); }
    stop() { return Promise.resolve(); }
    dispose() {}
  }
  const client = { LanguageClient, TransportKind: { stdio: 0, ipc: 1 } };
  const originalLoad = Module._load;
  Module._load = function load(request, parent, isMain) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return client;
    return originalLoad.call(this, request, parent, isMain);
  };
  try {
    const extensionPath = path.join(ROOT, manifest.main);
    delete require.cache[require.resolve(extensionPath)];
    const extension = require(extensionPath);
    const context = { subscriptions: [] };
    await extension.activate(context);
    assert.equal(created.length, 1);
    const started = created[0];
    assert.equal(started.id, 'yibaolang');
    assert.deepEqual(started.serverOptions, {
      command: '/opt/venv/bin/yibaolang',
      args: ['lsp'],
      transport: 0,
      options: { cwd: '/work/policies' },
    });
    assert.deepEqual(started.clientOptions.documentSelector.map((s) => s.language), ['yibaolang', 'yibaolang']);
    assert.equal(context.subscriptions[0], started);
    await extension.deactivate();
  } finally {
    Module._load = originalLoad;
  }
});
