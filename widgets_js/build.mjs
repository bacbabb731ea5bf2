// Bundle every widget entry with esbuild into one self-contained ESM file.
//
//   node build.mjs           build   src/<name>.ts            -> ../workbench/static/<name>.js
//                                    src/workbench.css        -> ../workbench/static/workbench.css
//                                    ../tests/ui/widget_src/<name>.ts -> ../tests/ui/static/<name>.js
//                                    embed/<name>.ts  -> ../workbench/static/embed/<name>.js
//   node build.mjs --check   build in memory and compare with the files on disk;
//                            exit 1 listing missing, stale or orphaned bundles
//
// Entries are the .ts and .css files directly inside each source folder (lib/ holds
// shared code, styles/ the stylesheet's parts, which src/workbench.css @imports).
// Bundles import nothing at run time (no CDN, no externals): the widgets must render
// offline. Output is deterministic, so the committed bundles can be checked.
//
// src/workbench.css is the one stylesheet of every widget: Python sets it once as
// anywidget's `_css` on WorkbenchWidget (workbench/widgets/_base.py).
//
// embed/ is the offline renderer of saved widget state (exported journals, notebooks
// converted to HTML): a classic script (IIFE), since nbconvert's page loads it with
// <script src>, carrying the HTML widget manager, its CSS as text, and anywidget's
// front-end.
import * as esbuild from "esbuild";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
// anywidget ships its front-end as one AMD module, `define(["@jupyter-widgets/base"], factory)`;
// the embed bundle imports that factory as "anywidget-factory" and calls it with the base
// module itself, so nothing is loaded at run time.
const anywidgetFactory = {
  name: "anywidget-factory",
  setup(build) {
    build.onResolve({ filter: /^anywidget-factory$/ }, () => ({
      path: join(here, "node_modules", "anywidget", "dist", "index.js"),
      namespace: "anywidget-factory",
    }));
    build.onLoad({ filter: /.*/, namespace: "anywidget-factory" }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const amd = /define\(\["@jupyter-widgets\/base"\],\s*([A-Za-z_$][\w$]*)\);\s*$/;
      const match = text.match(amd);
      if (!match) throw new Error(`${args.path}: anywidget's AMD define() was not found; check its version`);
      return { contents: text.replace(amd, `export default ${match[1]};`), loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

// CSS imported by the embed bundle becomes a string (its @imports inlined; fonts and
// images left out), which the renderer puts in a <style>.
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const result = await esbuild.build({
        entryPoints: [args.path], bundle: true, write: false, minify: true, logLevel: "silent",
        loader: { ".woff": "empty", ".woff2": "empty", ".ttf": "empty", ".eot": "empty", ".svg": "empty", ".png": "empty", ".gif": "empty" },
        outfile: "out.css",
      });
      return { contents: result.outputFiles[0].text, loader: "text" };
    });
  },
};

// The HTML manager also carries ipywidgets 7's models for old notebooks; the workbench
// runs ipywidgets 8, so they are left out (a fifth of the bundle), and a version-7
// widget shows an error saying so.
const noIpywidgets7 = {
  name: "no-ipywidgets-7",
  setup(build) {
    build.onResolve({ filter: /^@jupyter-widgets\/(base7|controls7)(\/|$)/ }, (args) => ({ path: args.path, namespace: "no-ipywidgets-7" }));
    build.onLoad({ filter: /.*/, namespace: "no-ipywidgets-7" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path}: ipywidgets 7 widgets are not carried by this page; save the notebook with ipywidgets 8`)});`,
      loader: "js",
    }));
  },
};

const EMBED = {
  format: "iife",
  minify: true,
  plugins: [anywidgetFactory, cssAsText, noIpywidgets7],
  loader: { ".svg": "text" }, // JupyterLab imports its icons as SVG source
  define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
};

const TARGETS = [
  { src: join(here, "src"), out: join(root, "workbench", "static") },
  { src: join(root, "tests", "ui", "widget_src"), out: join(root, "tests", "ui", "static") },
  { src: join(here, "embed"), out: join(root, "workbench", "static", "embed"), options: EMBED },
];
const BANNER = "Generated from widgets_js by `npm run build`; do not edit.";
// an entry's extension -> its bundle's
const OUTPUTS = { ".ts": ".js", ".css": ".css" };

function entries(folder) {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || f.endsWith(".css"))
    .sort()
    .map((f) => join(folder, f));
}

function bundleName(entry) {
  const ext = extname(entry);
  return basename(entry, ext) + OUTPUTS[ext];
}

async function bundle(entry, options = {}) {
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    charset: "utf8",
    legalComments: "none",
    banner: { js: `// ${BANNER}`, css: `/* ${BANNER} */` },
    write: false,
    logLevel: "silent",
    outfile: "out" + OUTPUTS[extname(entry)],
    ...options,
  });
  if (result.outputFiles.length !== 1) throw new Error(`${entry}: expected one output file`);
  return result.outputFiles[0].contents;
}

async function main() {
  const check = process.argv.includes("--check");
  const problems = [];
  let count = 0;
  for (const { src, out, options } of TARGETS) {
    const expected = new Set();
    for (const entry of entries(src)) {
      const name = bundleName(entry);
      const target = join(out, name);
      expected.add(name);
      count += 1;
      let bytes;
      try {
        bytes = await bundle(entry, options);
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
    // Every .js and .css file in an output folder is generated: one without a source is stale.
    if (existsSync(out)) {
      const generated = (f) => Object.values(OUTPUTS).includes(extname(f));
      for (const f of readdirSync(out).filter((f) => generated(f) && !expected.has(f))) {
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
