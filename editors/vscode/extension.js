// 易保语 VS Code 扩展：语法高亮由 syntaxes/ 中的 TextMate 文法提供；
// 其余功能（诊断、悬停、跳转、引用、补全、大纲、格式化、快速修复）来自语言服务器 `yibaolang lsp`。
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

/** The command line that starts the server, from the user's settings. */
function serverOptions(config) {
  const command = config.get('server.command') || 'yibaolang';
  const args = config.get('server.args') || ['lsp'];
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const options = folder ? { cwd: folder.uri.fsPath } : {};
  // TransportKind.stdio makes the client add `--stdio`, which `yibaolang lsp` accepts.
  return { command, args, transport: TransportKind.stdio, options };
}

function activate(context) {
  const config = vscode.workspace.getConfiguration('yibaolang');
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'yibaolang' },
      { scheme: 'untitled', language: 'yibaolang' },
    ],
    outputChannelName: '易保语语言服务器',
  };
  client = new LanguageClient('yibaolang', '易保语语言服务器', serverOptions(config), clientOptions);
  context.subscriptions.push(client);
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `无法启动易保语语言服务器（${error && error.message ? error.message : error}）。` +
        "请先安装：pip install 'yibaolang[lsp]'；若 yibaolang 不在 PATH 中，请在设置 yibaolang.server.command 中写明完整路径。",
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverOptions };
