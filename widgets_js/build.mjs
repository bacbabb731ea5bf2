// Bundle every widget entry with esbuild into one self-contained ESM file.
//
//   node build.mjs           build   src/<name>.ts            -> ../workbench/static/<name>.js
//                                    ../tests/ui/widget_src/<name>.ts -> ../tests/ui/static/<name>.js
//   node build.mjs --check   build in memory and compare with the files on disk;
//                            exit 1 listing missing, stale or orphaned bundles
//
// Entries are the .ts files directly inside each source folder (lib/ holds shared
// code). Bundles import nothing at run time (no CDN, no externals): the widgets must
// render offline. Output is deterministic, so the committed bundles can be checked.
import * as esbuild from "esbuild";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const TARGETS = [
  { src: join(here, "src"), out: join(root, "workbench", "static") },
  { src: join(root, "tests", "ui", "widget_src"), out: join(root, "tests", "ui", "static") },
];
const BANNER = "// Generated from widgets_js by `npm run build`; do not edit.";

function entries(folder) {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => join(folder, f));
}

async function bundle(entry) {
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    charset: "utf8",
    legalComments: "none",
    banner: { js: BANNER },
    write: false,
    logLevel: "silent",
    outfile: "out.js",
  });
  if (result.outputFiles.length !== 1) throw new Error(`${entry}: expected one output file`);
  return result.outputFiles[0].contents;
}

async function main() {
  const check = process.argv.includes("--check");
  const problems = [];
  let count = 0;
  for (const { src, out } of TARGETS) {
    const expected = new Set();
    for (const entry of entries(src)) {
      const name = basename(entry, ".ts") + ".js";
      const target = join(out, name);
      expected.add(name);
      count += 1;
      let bytes;
      try {
        bytes = await bundle(entry);
      } catch (err) {
        for (const e of err.errors ?? [err]) {
          const where = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : "";
          console.error(`${where}${e.text ?? e.message}`);
        }
        process.exit(1);
      }
      const rel = relative(root, target);
      if (check) {
        if (!existsSync(target)) problems.push(`missing: ${rel}`);
        else if (Buffer.compare(Buffer.from(bytes), readFileSync(target)) !== 0) problems.push(`stale: ${rel}`);
      } else {
        mkdirSync(out, { recursive: true });
        writeFileSync(target, bytes);
        console.log(`built ${rel} (${bytes.length} bytes)`);
      }
    }
    // Every .js file in an output folder is generated: one without a source is stale.
    if (existsSync(out)) {
      for (const f of readdirSync(out).filter((f) => f.endsWith(".js") && !expected.has(f))) {
        const rel = relative(root, join(out, f));
        if (check) problems.push(`orphaned (no source entry): ${rel}`);
        else {
          rmSync(join(out, f));
          console.log(`removed ${rel} (no source entry)`);
        }
      }
    }
  }
  if (check) {
    if (problems.length) {
      console.error(problems.join("\n"));
      console.error("run `cd widgets_js && npm run build` and commit the bundles");
      process.exit(1);
    }
    console.log(`${count} bundles up to date`);
  }
}

await main();
