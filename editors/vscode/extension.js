// 易保语 VS Code 扩展：语法高亮由 syntaxes/ 中的 TextMate 文法提供；
// 其余功能（诊断、悬停、跳转、引用、补全、大纲、格式化、快速修复）来自语言服务器 `yibaolang lsp`。
// 打包时 esbuild 把本文件与 vscode-languageclient 合成 dist/extension.js（build.sh）。
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

/** The command line that starts the server, from the user's settings. */
function serverOptions(config) {
  const python = config.get('server.python');
  // A Python interpreter, when set, runs the server from that environment: `python -m yibaolang lsp`.
  const command = python || config.get('server.command') || 'yibaolang';
  const args = python ? ['-m', 'yibaolang', 'lsp'] : config.get('server.args') || ['lsp'];
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const options = folder ? { cwd: folder.uri.fsPath } : {};
  // TransportKind.stdio makes the client add `--stdio`, which `yibaolang lsp` accepts.
  return { command, args, transport: TransportKind.stdio, options };
}

function createClient() {
  const config = vscode.workspace.getConfiguration('yibaolang');
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'yibaolang' },
      { scheme: 'untitled', language: 'yibaolang' },
    ],
    outputChannelName: '易保语语言服务器',
  };
  return new LanguageClient('yibaolang', '易保语语言服务器', serverOptions(config), clientOptions);
}

function start() {
  client = createClient();
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `无法启动易保语语言服务器（${error && error.message ? error.message : error}）。` +
        "请先安装：pip install 'yibaolang[lsp]'；若 yibaolang 不在 PATH 中，请在设置 yibaolang.server.python 中" +
        '写明装有它的 Python 解释器（如 /path/.venv/bin/python）。',
    );
  });
}

/** Stop the running server and start it again with the current settings. */
async function restart() {
  if (client) {
    const old = client;
    client = undefined;
    try {
      await old.stop();
    } catch (error) {
      // A server that already died cannot be stopped; start a new one all the same.
    }
  }
  await start();
  vscode.window.showInformationMessage('易保语语言服务器已重启');
}

function activate(context) {
  context.subscriptions.push(vscode.commands.registerCommand('yibaolang.restartServer', restart));
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('yibaolang.server')) {
      restart();
    }
  }));
  context.subscriptions.push({ dispose: () => (client ? client.stop() : undefined) });
  return start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverOptions, restart };
