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
  assert.equal(manifest.main, './dist/extension.js'); // built by build.sh from extension.js
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
  const commands = {};
  const settings = { 'server.command': '/opt/venv/bin/yibaolang', 'server.args': ['lsp'] };
  const vscode = {
    workspace: {
      workspaceFolders: [{ uri: { fsPath: '/work/policies' } }],
      getConfiguration: (section) => {
        assert.equal(section, 'yibaolang');
        return { get: (key) => settings[key] };
      },
    },
    window: {
      showErrorMessage: (message) => created.push({ error: message }),
      showInformationMessage: (message) => created.push({ info: message }),
    },
    commands: { registerCommand: (name, run) => { commands[name] = run; return { dispose() {} }; } },
  };
  vscode.workspace.onDidChangeConfiguration = () => ({ dispose() {} });
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
    const extensionPath = path.join(ROOT, 'extension.js'); // the source; dist/ is its bundle
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
    // The restart command stops the server and starts a new one, now with the Python interpreter set.
    settings['server.python'] = '/opt/venv/bin/python';
    await commands['yibaolang.restartServer']();
    assert.equal(created.length, 3);
    assert.deepEqual(created[1].serverOptions.command, '/opt/venv/bin/python');
    assert.deepEqual(created[1].serverOptions.args, ['-m', 'yibaolang', 'lsp']);
    assert.equal(created[2].info, '易保语语言服务器已重启');
    await extension.deactivate();
  } finally {
    Module._load = originalLoad;
  }
});

test('the manifest: a restart command, a Python setting, editor defaults for .ybl, a repository and licence', () => {
  const contributed = manifest.contributes;
  assert.deepEqual(contributed.commands.map((c) => c.command), ['yibaolang.restartServer']);
  assert.equal(contributed.configuration.properties['yibaolang.server.python'].type, 'string');
  assert.deepEqual(contributed.configurationDefaults['[yibaolang]'],
    { 'editor.insertSpaces': true, 'editor.tabSize': 4, 'editor.detectIndentation': false });
  assert.ok(manifest.repository && manifest.repository.url);
  assert.ok(fs.existsSync(path.join(ROOT, 'LICENSE')));
  assert.ok(fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').includes('!dist/extension.js'));
});
