// Copies the non-TypeScript sources the stores read at run time (Lua
// scripts, SQL files) from src/ to dist/, keeping their relative paths, and
// makes the CLI entry executable: tsc writes it without the bit, and
// `npx idemkit` in a checkout runs that file as it is.
import { chmodSync, cpSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = join(root, "dist");
const ASSET = /\.(lua|sql)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (ASSET.test(name)) cpSync(path, join(dist, relative(src, path)));
  }
}

walk(src);
chmodSync(join(dist, "cli", "main.js"), 0o755);
