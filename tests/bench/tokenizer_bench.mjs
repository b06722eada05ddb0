// JS reference throughput for `genlens bench tokenizer`: encodes every line of a corpus
// with @huggingface/tokenizers and prints one JSON line
// {"seconds", "bytes", "lines", "tokens", "mb_per_s"} (load time excluded).
//
//   node tokenizer_bench.mjs NPM_DIR TOKENIZER_DIR CORPUS_FILE
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npmDir, tokDir, corpusFile] = process.argv.slice(2);
const { Tokenizer } = await import(
  pathToFileURL(path.join(npmDir, "@huggingface/tokenizers/dist/tokenizers.mjs")).href
);
const readJson = (f) => JSON.parse(fs.readFileSync(path.join(tokDir, f), "utf8"));
const cfgPath = path.join(tokDir, "tokenizer_config.json");
const tok = new Tokenizer(readJson("tokenizer.json"), fs.existsSync(cfgPath) ? readJson("tokenizer_config.json") : {});
const buf = fs.readFileSync(corpusFile);
const lines = new TextDecoder("utf-8", { ignoreBOM: true }).decode(buf).split("\n");
// Warm up on the first lines (JIT), then time the whole corpus once.
for (let i = 0; i < Math.min(200, lines.length); ++i) tok.encode(lines[i], { add_special_tokens: false });
const t0 = process.hrtime.bigint();
let tokens = 0;
for (const line of lines) tokens += tok.encode(line, { add_special_tokens: false }).ids.length;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ seconds, bytes: buf.length, lines: lines.length, tokens, mb_per_s: buf.length / 1e6 / seconds }));
