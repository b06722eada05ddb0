// Reference tokenization with @huggingface/tokenizers (the JS implementation of HF
// tokenizers) for the C++ parity tests.
//
//   node hf_tokenize.mjs NPM_DIR TOKENIZER_DIR CORPUS_FILE OUT_JSON [RANDOM_COUNT [SEED]]
//
// Reads the corpus (format: see tests/data/tokenizer_corpus.txt), adds RANDOM_COUNT
// generated inputs (seeded), and writes for every input its bytes (base64, so invalid
// UTF-8 survives), the ids with and without special tokens, and the decodings.
// Inputs are turned into JS strings with TextDecoder (invalid UTF-8 -> U+FFFD per
// maximal subpart, BOM kept), which is what the C++ side must reproduce.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npmDir, tokDir, corpusFile, outFile, randomCountArg, seedArg] = process.argv.slice(2);
if (!outFile) {
  console.error("usage: node hf_tokenize.mjs NPM_DIR TOKENIZER_DIR CORPUS_FILE OUT_JSON [RANDOM_COUNT [SEED]]");
  process.exit(2);
}
const { Tokenizer } = await import(
  pathToFileURL(path.join(npmDir, "@huggingface/tokenizers/dist/tokenizers.mjs")).href
);

export function parseCorpus(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# ") || line === "#" || line.length === 0) continue;
    if (line === "\\e") {
      out.push(Buffer.alloc(0));
      continue;
    }
    const bytes = [];
    for (let i = 0; i < line.length; ) {
      const c = line[i];
      if (c === "\\" && i + 1 < line.length) {
        const n = line[i + 1];
        if (n === "n") { bytes.push(10); i += 2; continue; }
        if (n === "r") { bytes.push(13); i += 2; continue; }
        if (n === "t") { bytes.push(9); i += 2; continue; }
        if (n === "s") { bytes.push(32); i += 2; continue; }
        if (n === "\\") { bytes.push(92); i += 2; continue; }
        if (n === "x") { bytes.push(parseInt(line.slice(i + 2, i + 4), 16)); i += 4; continue; }
        if (n === "u" && line[i + 2] === "{") {
          const close = line.indexOf("}", i);
          const cp = parseInt(line.slice(i + 3, close), 16);
          bytes.push(...Buffer.from(String.fromCodePoint(cp), "utf8"));
          i = close + 1;
          continue;
        }
      }
      const cp = line.codePointAt(i);
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, "utf8"));
      i += ch.length;
    }
    out.push(Buffer.from(bytes));
  }
  return out;
}

// Seeded generator of mixed-script, mixed-whitespace inputs (some with invalid bytes).
function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const FRAGMENTS = [
  "the", "The", " of", "and", "ing", " tokenizer", "123", "4567", "3.14", " ", "  ", "   ", "\n", "\n\n", "\r\n",
  "\t", " \n ", ".", ",", "!", "?", "'s", "'ll", "'T", "(", ")", "{", "}", "[", "]", "<", ">", "/", "\\", "\"",
  "-", "_", "=", "+", "*", "#", "@", "$", "%", "^", "&", "|", "~", "`", "é", "e\u0301", "ü", "ß", "ñ", "Å",
  "A\u030a", "ﬁ", "中文", "日本", "語", "한국어", "العربية", "עברית", "ελληνικά", "русский", "हिन्दी", "ไทย",
  "😀", "👍🏽", "👨‍👩‍👧", "🇺🇸", "❤️", "\u200b", "\u200d", "\u00a0", "\u3000", "\u2028", "\u0085", "\ufeff",
  "<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>", "<s>", "</s>", "<unk>",
  "<think>", "▁", "Ġ", "<0x0A>", "x", "y", "z", "Q", "hello", "world", "don't", "I'm", "co-op", "e-mail",
];
function randomInputs(count, seed) {
  const rnd = mulberry32(seed);
  const out = [];
  for (let k = 0; k < count; ++k) {
    const parts = [];
    const n = 1 + Math.floor(rnd() * 24);
    for (let j = 0; j < n; ++j) parts.push(Buffer.from(FRAGMENTS[Math.floor(rnd() * FRAGMENTS.length)], "utf8"));
    if (rnd() < 0.1) parts.splice(Math.floor(rnd() * parts.length), 0, Buffer.from([0x80 + Math.floor(rnd() * 0x7f)]));
    out.push(Buffer.concat(parts));
  }
  return out;
}

const readJson = (f) => JSON.parse(fs.readFileSync(path.join(tokDir, f), "utf8"));
const tokenizerJson = readJson("tokenizer.json");
const configPath = path.join(tokDir, "tokenizer_config.json");
const config = fs.existsSync(configPath) ? readJson("tokenizer_config.json") : {};
const tok = new Tokenizer(tokenizerJson, config);

const inputs = parseCorpus(fs.readFileSync(corpusFile, "utf8"));
if (randomCountArg) inputs.push(...randomInputs(parseInt(randomCountArg, 10), parseInt(seedArg ?? "1", 10)));

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const decode = (ids, opts) => (ids.length === 0 ? "" : tok.decode(ids, opts));
const entries = inputs.map((bytes) => {
  const text = decoder.decode(bytes);
  const ids = tok.encode(text, { add_special_tokens: false }).ids;
  const idsSpecial = tok.encode(text, { add_special_tokens: true }).ids;
  return {
    input: bytes.toString("base64"),
    valid_utf8: Buffer.from(text, "utf8").equals(bytes),
    nfc: text.normalize("NFC") === text,
    ids,
    ids_special: idsSpecial,
    decoded: decode(ids, { skip_special_tokens: false }),
    decoded_skip: decode(idsSpecial, { skip_special_tokens: true }),
    decoded_raw: decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
  };
});
fs.writeFileSync(outFile, JSON.stringify({ tokenizer: tokDir, count: entries.length, entries }));
