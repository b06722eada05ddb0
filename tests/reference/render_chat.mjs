// Renders chat templates with @huggingface/jinja (the reference Jinja renderer) for
// the C++ chat-template parity test.
//
//   node render_chat.mjs NPM_DIR JOB_JSON OUT_JSON
//
// JOB_JSON: {"cases": [{"name", "template", "context": {...}, "texts": [...]}]}; each
// text is rendered as messages=[{role: "user", content: text}] with
// add_generation_prompt=true plus the case's context (bos_token, enable_thinking...).
// OUT_JSON: {"<name>": ["rendered", ...], ...}
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npmDir, jobFile, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error("usage: node render_chat.mjs NPM_DIR JOB_JSON OUT_JSON");
  process.exit(2);
}
const { Template } = await import(pathToFileURL(path.join(npmDir, "@huggingface/jinja/dist/index.js")).href);
const job = JSON.parse(fs.readFileSync(jobFile, "utf8"));
const out = {};
for (const c of job.cases) {
  const template = new Template(c.template);
  out[c.name] = c.texts.map((text) =>
    template.render({
      messages: [{ role: "user", content: text }],
      add_generation_prompt: true,
      ...c.context,
    })
  );
}
fs.writeFileSync(outFile, JSON.stringify(out));
