// The TextMate grammar, tokenized by the engine VS Code itself uses
// (vscode-textmate with the Oniguruma regular expressions of vscode-oniguruma).
// Run: npm ci && node --test   (in editors/vscode)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const assert = require('node:assert/strict');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const GRAMMAR = path.join(__dirname, '..', 'syntaxes', 'yibaolang.tmLanguage.json');

let grammarPromise;

function loadGrammar() {
  if (!grammarPromise) {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    const onigLib = oniguruma
      .loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength))
      .then(() => ({
        createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
        createOnigString: (text) => new oniguruma.OnigString(text),
      }));
    const registry = new vsctm.Registry({
      onigLib,
      loadGrammar: async (scopeName) =>
        scopeName === 'source.yibaolang'
          ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR)
          : null,
    });
    grammarPromise = registry.loadGrammar('source.yibaolang');
  }
  return grammarPromise;
}

/** Tokenize lines (one document) and return, per line, its text and tokens. */
async function tokenize(...lines) {
  const grammar = await loadGrammar();
  let stack = vsctm.INITIAL;
  return lines.map((text) => {
    const result = grammar.tokenizeLine(text, stack);
    stack = result.ruleStack;
    return {
      text,
      tokens: result.tokens.map((t) => ({ text: text.slice(t.startIndex, t.endIndex), start: t.startIndex, end: t.endIndex, scopes: t.scopes })),
    };
  });
}

/**
 * `piece` (its `nth` occurrence on the line) is exactly one or more whole tokens,
 * and every one of them carries `scope` (a scope name, or a prefix of one ending in a dot-separated part).
 */
function expectScope(line, piece, scope, nth = 0) {
  let at = -1;
  for (let i = 0; i <= nth; i += 1) {
    at = line.text.indexOf(piece, at + 1);
    assert.notEqual(at, -1, `“${piece}” not found in “${line.text}”`);
  }
  const end = at + piece.length;
  const covering = line.tokens.filter((t) => t.start < end && t.end > at);
  assert.ok(covering.length > 0, `no token for “${piece}”`);
  assert.equal(covering[0].start, at, `“${piece}” does not start a token: ${describe(line)}`);
  // The engine tokenizes the line with its newline, so the last token may end one past the text.
  const last = Math.min(covering[covering.length - 1].end, line.text.length);
  assert.equal(last, end, `“${piece}” does not end a token: ${describe(line)}`);
  for (const token of covering) {
    assert.ok(
      token.scopes.some((s) => s === scope || s.startsWith(`${scope}.`)),
      `“${token.text}” in “${line.text}” has ${token.scopes.join(' ')}, not ${scope}`,
    );
  }
}

function expectNotScope(line, piece, scope) {
  const at = line.text.indexOf(piece);
  assert.notEqual(at, -1);
  const end = at + piece.length;
  for (const token of line.tokens.filter((t) => t.start < end && t.end > at)) {
    assert.ok(
      !token.scopes.some((s) => s === scope || s.startsWith(`${scope}.`)),
      `“${token.text}” in “${line.text}” should not be ${scope}: ${token.scopes.join(' ')}`,
    );
  }
}

function describe(line) {
  return line.tokens.map((t) => `[${t.text}|${t.scopes[t.scopes.length - 1]}]`).join('');
}

test('policy header and clause header', async () => {
  const [policy, meta, clause] = await tokenize(
    '政策 天津市人民政府关于进一步完善医疗保险制度的意见  # 种子政策',
    '    文号 "津政发〔2016〕17号"',
    '条款 "二、(五)" 深入实施大病保险制度',
  );
  expectScope(policy, '政策', 'keyword.declaration.yibaolang');
  expectScope(policy, '天津市人民政府关于进一步完善医疗保险制度的意见', 'entity.name.section.policy.yibaolang');
  expectScope(policy, '# 种子政策', 'comment.line.number-sign.yibaolang');
  expectScope(meta, '文号', 'keyword.other.attribute.yibaolang');
  expectScope(meta, '津政发〔2016〕17号', 'string.quoted.double.yibaolang');
  expectScope(clause, '条款', 'keyword.declaration.yibaolang');
  expectScope(clause, '二、(五)', 'entity.name.tag.clause-id.yibaolang');
  expectScope(clause, '深入实施大病保险制度', 'entity.name.section.clause.yibaolang');
});

test('原文 in triple quotes spans lines and holds no keywords', async () => {
  const [first, middle, last, after] = await tokenize(
    '    原文 """参加居民基本医保的人员,个人负担在2 万元以上30 万元以下的费用,',
    '即:2 万元至10 万元(含)之间报销50%。',
    '如果超过则不报销。"""',
    '    参数 大病保险起付线 : 金额 = 2万元',
  );
  expectScope(first, '原文', 'keyword.declaration.yibaolang');
  expectScope(first, '参加居民基本医保的人员,个人负担在2 万元以上30 万元以下的费用,', 'string.quoted.triple.source-text.yibaolang');
  expectScope(middle, middle.text, 'string.quoted.triple.source-text.yibaolang');
  expectNotScope(middle, '(含)', 'keyword');
  expectScope(last, '如果超过则不报销。', 'string.quoted.triple.source-text.yibaolang');
  expectScope(last, '"""', 'punctuation.definition.string.end.yibaolang');
  expectScope(after, '参数', 'keyword.declaration.yibaolang');
  expectScope(after, '2万元', 'constant.numeric.money.yibaolang');
});

test('one-line 原文 and plain strings', async () => {
  const [source, input] = await tokenize(
    '    原文 "一至六级伤残军人参加职工基本医保的,个人不缴费。"',
    '输入 大病个人负担 : 金额 范围 0元 至 1亿元 "经基本医保报销后个人负担的部分"',
  );
  expectScope(source, '一至六级伤残军人参加职工基本医保的,个人不缴费。', 'string.quoted.double.source-text.yibaolang');
  expectScope(input, '经基本医保报销后个人负担的部分', 'string.quoted.double.yibaolang');
});

test('declarations name what they declare', async () => {
  const [definition, param, input, type, fn] = await tokenize(
    '    定义 大病保险报销 : 金额 =',
    '    参数 职工药店报销比例 : 比例',
    '输入 全额补助人员类别 : 选项 {无, 困难家庭人员} 默认 无',
    '类型 医院等级 = 选项 {三级, 二级, 一级, 其他}',
    '函数 起付比例封顶(费用: 金额, 起付线: 金额) : 金额 = 取较小(取较大(费用 - 起付线, 0元), 费用)',
  );
  expectScope(definition, '定义', 'keyword.declaration.yibaolang');
  expectScope(definition, '大病保险报销', 'entity.name.variable.yibaolang');
  expectScope(definition, '金额', 'support.type.primitive.yibaolang');
  expectScope(definition, '=', 'keyword.operator.assignment.yibaolang');
  expectScope(param, '职工药店报销比例', 'entity.name.variable.yibaolang');
  expectScope(param, '比例', 'support.type.primitive.yibaolang', 1);
  expectScope(input, '输入', 'keyword.declaration.yibaolang');
  expectScope(input, '全额补助人员类别', 'entity.name.variable.yibaolang');
  expectScope(input, '选项', 'storage.type.enum.yibaolang');
  expectScope(input, '默认', 'keyword.other.attribute.yibaolang');
  expectScope(input, '{', 'punctuation.section.braces.yibaolang');
  expectScope(type, '类型', 'keyword.declaration.yibaolang');
  expectScope(type, '医院等级', 'entity.name.type.yibaolang');
  expectScope(fn, '函数', 'keyword.declaration.yibaolang');
  expectScope(fn, '起付比例封顶', 'entity.name.function.yibaolang');
  expectScope(fn, '取较小', 'support.function.builtin.yibaolang');
  expectScope(fn, '取较大', 'support.function.builtin.yibaolang');
  expectScope(fn, '-', 'keyword.operator.arithmetic.yibaolang');
});

test('control keywords: 如果/则/否则, 分段累进/按, 分档/其余, 查表', async () => {
  const lines = await tokenize(
    '        如果 非 享受降低住院起付线 则 原住院起付标准',
    '        否则如果 住院次序 = 1 则 取较小(500元, 原住院起付标准)',
    '        否则 0元',
    '        分段累进 大病个人负担',
    '            2万元 至 10万元(含) 按 50%',
    '        分档 连续未超起付线年数',
    '            其余 : 0元',
    '    定义 比例 : 比例 = 查表 (医院等级)',
    '        分情况 参保类别',
  );
  const [ifLine, elseIf, otherwise, banded, band, stepped, rest, table, cases] = lines;
  expectScope(ifLine, '如果', 'keyword.control.conditional.yibaolang');
  expectScope(ifLine, '非', 'keyword.operator.logical.yibaolang');
  expectScope(ifLine, '享受降低住院起付线', 'variable.other.yibaolang');
  expectScope(ifLine, '则', 'keyword.control.conditional.yibaolang');
  expectScope(elseIf, '否则如果', 'keyword.control.conditional.yibaolang');
  expectScope(elseIf, '1', 'constant.numeric.yibaolang');
  expectScope(otherwise, '否则', 'keyword.control.conditional.yibaolang');
  expectScope(banded, '分段累进', 'keyword.control.block.yibaolang');
  expectScope(band, '2万元', 'constant.numeric.money.yibaolang');
  expectScope(band, '至', 'keyword.operator.boundary.yibaolang');
  expectScope(band, '10万元', 'constant.numeric.money.yibaolang');
  expectScope(band, '(含)', 'keyword.operator.boundary.inclusive.yibaolang');
  expectScope(band, '按', 'keyword.control.block.yibaolang');
  expectScope(band, '50%', 'constant.numeric.ratio.yibaolang');
  expectScope(stepped, '分档', 'keyword.control.block.yibaolang');
  expectScope(rest, '其余', 'keyword.control.block.yibaolang');
  expectScope(table, '查表', 'keyword.control.block.yibaolang');
  expectScope(cases, '分情况', 'keyword.control.block.yibaolang');
});

test('legal boundary words are operators', async () => {
  const [over, lines] = await tokenize(
    '定义 可一次性提取个人账户 : 是否 = 年度住院费用 超过 5万元（含） 且 住院次序 不满 3',
    '            2万元以上 : 1元 , 不超过 1万元 , 达到 2年 , 未满 3个月 , 1万元 以下 , 介于 1元 与 2元',
  );
  expectScope(over, '是否', 'support.type.primitive.yibaolang');
  expectScope(over, '超过', 'keyword.operator.boundary.yibaolang');
  expectScope(over, '（含）', 'keyword.operator.boundary.inclusive.yibaolang');
  expectScope(over, '且', 'keyword.operator.logical.yibaolang');
  expectScope(over, '不满', 'keyword.operator.boundary.yibaolang');
  expectScope(lines, '2万元', 'constant.numeric.money.yibaolang');
  expectScope(lines, '以上', 'keyword.operator.boundary.yibaolang');
  for (const word of ['不超过', '达到', '未满', '以下', '介于', '与']) {
    expectScope(lines, word, 'keyword.operator.boundary.yibaolang');
  }
  expectScope(lines, '2年', 'constant.numeric.duration.yibaolang');
  expectScope(lines, '3个月', 'constant.numeric.duration.yibaolang');
});

test('a keyword is a whole word: glued text is one name, as the parser reads it', async () => {
  const [glued, rule] = await tokenize(
    '定义 甲 = 如果个人负担超过2万元 则 1元 否则 0元',
    '定义 乙 = 规则 + 满足条件',
  );
  expectScope(glued, '如果个人负担超过2万元', 'variable.other.yibaolang');
  expectScope(glued, '则', 'keyword.control.conditional.yibaolang');
  expectScope(rule, '规则', 'variable.other.yibaolang');
  expectScope(rule, '满足条件', 'variable.other.yibaolang');
});

test('literals with units', async () => {
  const [units, dates] = await tokenize(
    '定义 甲 = 1.5万元 + 3个百分点 + 2倍 + 90% + 30日 + 7天 + 12 + 1亿元',
    '        自 2017年1月1日 起 65%    统筹年度 自 7月1日    发布 2024-01-31',
  );
  expectScope(units, '1.5万元', 'constant.numeric.money.yibaolang');
  expectScope(units, '3个百分点', 'constant.numeric.ratio.points.yibaolang');
  expectScope(units, '2倍', 'constant.numeric.times.yibaolang');
  expectScope(units, '90%', 'constant.numeric.ratio.yibaolang');
  expectScope(units, '30日', 'constant.numeric.duration.yibaolang');
  expectScope(units, '7天', 'constant.numeric.duration.yibaolang');
  expectScope(units, '12', 'constant.numeric.yibaolang');
  expectScope(units, '1亿元', 'constant.numeric.money.yibaolang');
  expectScope(dates, '自', 'keyword.other.attribute.yibaolang');
  expectScope(dates, '2017年1月1日', 'constant.numeric.date.yibaolang');
  expectScope(dates, '起', 'keyword.other.attribute.yibaolang');
  expectScope(dates, '统筹年度', 'keyword.other.attribute.yibaolang');
  expectScope(dates, '7月1日', 'constant.numeric.date.month-day.yibaolang');
  expectScope(dates, '2024-01-31', 'constant.numeric.date.yibaolang');
});

test('exceptions: target, membership, priority over clause ids', async () => {
  const [rule] = await tokenize(
    '    例外 个人缴费 当 全额补助人员类别 属于 {困难家庭人员} 时 = 0元 优先于 "三、(八)", "三、(十)"  # 说明',
  );
  expectScope(rule, '例外', 'keyword.declaration.yibaolang');
  expectScope(rule, '个人缴费', 'variable.other.exception-target.yibaolang');
  expectScope(rule, '当', 'keyword.control.conditional.yibaolang');
  expectScope(rule, '属于', 'keyword.operator.membership.yibaolang');
  expectScope(rule, '困难家庭人员', 'variable.other.yibaolang');
  expectScope(rule, '时', 'keyword.control.conditional.yibaolang');
  expectScope(rule, '0元', 'constant.numeric.money.yibaolang');
  expectScope(rule, '优先于', 'keyword.control.priority.yibaolang');
  expectScope(rule, '三、(八)', 'entity.name.tag.clause-id.yibaolang');
  expectScope(rule, '三、(十)', 'entity.name.tag.clause-id.yibaolang');
  expectScope(rule, '# 说明', 'comment.line.number-sign.yibaolang');
});

test('imports, qualified names, outputs, examples', async () => {
  const [imp, use, output, example, expect] = await tokenize(
    '引用 "基础.ybl" 作为 基础',
    '    定义 报销 : 金额 = 基础.起付后费用 × 比例 封顶 1万元',
    '输出 大病保险报销, 大额医疗救助报销',
    '样例 "大病个人负担15万元"',
    '    期望 可一次性提取个人账户 = 是',
  );
  expectScope(imp, '引用', 'keyword.declaration.yibaolang');
  expectScope(imp, '基础.ybl', 'string.quoted.double.yibaolang');
  expectScope(imp, '作为', 'keyword.other.attribute.yibaolang');
  expectScope(use, '基础', 'entity.name.namespace.yibaolang');
  expectScope(use, '.', 'punctuation.accessor.yibaolang');
  expectScope(use, '起付后费用', 'variable.other.yibaolang');
  expectScope(use, '×', 'keyword.operator.arithmetic.yibaolang');
  expectScope(use, '封顶', 'keyword.operator.cap.yibaolang');
  expectScope(output, '输出', 'keyword.declaration.yibaolang');
  expectScope(output, ',', 'punctuation.separator.comma.yibaolang');
  expectScope(example, '样例', 'keyword.declaration.yibaolang');
  expectScope(expect, '期望', 'keyword.declaration.yibaolang');
  expectScope(expect, '是', 'constant.language.boolean.yibaolang');
});

test('comments hold no code; suppressions name their codes', async () => {
  const [comment, trailing] = await tokenize(
    '# 如果 超过 2万元 则 报销',
    '定义 个人缴费 : 金额 = 个人应缴费额  # 忽略 YB560、YB531 一般规则不在本文件中',
  );
  expectScope(comment, '# 如果 超过 2万元 则 报销', 'comment.line.number-sign.yibaolang');
  expectNotScope(comment, '超过', 'keyword');
  expectScope(trailing, '忽略', 'keyword.other.suppression.yibaolang');
  expectScope(trailing, 'YB560、YB531 ', 'constant.other.diagnostic-code.yibaolang');
  expectScope(trailing, '个人应缴费额', 'variable.other.yibaolang');
});

test('every line of the seed policies tokenizes', async () => {
  const folder = path.join(__dirname, '..', '..', '..', 'policies');
  const files = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f.endsWith('.ybl')) : [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(folder, file), 'utf8').split('\n');
    const tokenized = await tokenize(...lines);
    // Every keyword-looking word outside strings and comments got some scope beyond the root.
    for (const line of tokenized) {
      for (const token of line.tokens) {
        if (token.text.trim() && token.scopes.length === 1) {
          assert.fail(`${file}: “${token.text}” in “${line.text}” has no scope`);
        }
      }
    }
  }
});
