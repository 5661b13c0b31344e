// What the browser downloads on a first visit: every file loaded by
// /connexion (signed out) and by an administrator's first page (signed in as
// the operator, in a fresh browser context: nothing cached), raw and
// brotli-compressed (quality 11, as a server would send them), in a
// Markdown table. With budgets, exits 1 when one is passed, naming the
// biggest files.
//
//   BASE_URL=http://127.0.0.1:3000 HAB_OPERATOR_EMAIL=… HAB_OPERATOR_PASSWORD=… \
//     node end2end/sizes.mjs [--budget-wasm BYTES] [--budget-page-wasm BYTES]
//                            [--budget-first-load BYTES]
//
// --budget-wasm: the main WebAssembly module (every page loads it first);
// --budget-page-wasm: all the WebAssembly of a first load of /connexion and
// of an administrator's first page (the main module and the screen's
// chunks); --budget-first-load: every file of a first load of /connexion.
//
// Sizes are deterministic for a given build: the budgets are checked by
// scripts/test.sh, the table printed by scripts/bench.sh --sizes.
import { chromium } from "@playwright/test";
import zlib from "node:zlib";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const operator = process.env.HAB_OPERATOR_EMAIL ?? "operateur@e2e.habilitations.test";
const password = process.env.HAB_OPERATOR_PASSWORD ?? "une phrase de passe solide";
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
};
const budgetWasm = option("--budget-wasm");
const budgetFirstLoad = option("--budget-first-load");
const budgetPageWasm = option("--budget-page-wasm");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});

const brotli = (buf) =>
  zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

/** Every file a fresh page load fetches, until the page has hydrated and
 * the network is idle. */
async function firstLoad(context, path) {
  const page = await context.newPage();
  const pending = [];
  page.on("requestfinished", (req) => {
    pending.push((async () => {
      const resp = await req.response();
      if (!resp) return null;
      const body = await resp.body().catch(() => Buffer.alloc(0));
      const url = new URL(req.url());
      return { path: url.pathname, type: req.resourceType(), raw: body.length, br: brotli(body) };
    })());
  });
  await page.goto(base + path, { waitUntil: "networkidle" });
  await page.waitForSelector("body[data-hydrated]", { timeout: 30_000 });
  await page.waitForLoadState("networkidle");
  const files = (await Promise.all(pending)).filter(Boolean);
  await page.close();
  return files;
}

const kb = (n) => (n / 1024).toFixed(1);

function table(title, files) {
  const rows = [...files].sort((a, b) => b.br - a.br);
  const total = rows.reduce((t, f) => ({ raw: t.raw + f.raw, br: t.br + f.br }), { raw: 0, br: 0 });
  console.log(`\n### ${title}\n`);
  console.log("| Fichier | Type | Brut (Kio) | Brotli (Kio) |");
  console.log("|---|---|---:|---:|");
  for (const f of rows) console.log(`| \`${f.path}\` | ${f.type} | ${kb(f.raw)} | ${kb(f.br)} |`);
  console.log(`| **Total** (${rows.length} fichiers) | | **${kb(total.raw)}** | **${kb(total.br)}** |`);
  return { rows, total };
}

// Signed out: the login page.
const anonymous = await browser.newContext();
const connexion = table("Premier chargement de /connexion", await firstLoad(anonymous, "/connexion"));

// Signed in: log in once, then load the first page in a fresh context that
// only carries the session cookie.
const login = await browser.newContext();
const p = await login.newPage();
await p.goto(base + "/connexion");
await p.waitForSelector("body[data-hydrated]", { timeout: 30_000 });
await p.getByLabel("Adresse électronique").fill(operator);
await p.getByLabel("Mot de passe").fill(password);
await p.getByRole("button", { name: "Se connecter" }).click();
await p.getByRole("button", { name: "Se déconnecter" }).waitFor();
const state = await login.storageState();
const admin = await browser.newContext({ storageState: { cookies: state.cookies, origins: [] } });
const accueil = table("Premier chargement de la première page d'un administrateur (/, signé en opérateur)", await firstLoad(admin, "/"));
await browser.close();

// Every screen is its own WebAssembly chunk (`cargo leptos --split`): a
// first load fetches the main module (the runtime, the router, the header:
// what every page needs, `habilitations.wasm`) and the chunks of the screen
// shown (split_*.wasm, chunk_*.wasm).
const isMain = (f) => /\/habilitations(\.[0-9a-f]+)?(_bg)?\.wasm$/.test(f.path);
const wasmOf = ({ rows }) => {
  const files = rows.filter((f) => f.path.endsWith(".wasm"));
  const main = files.find(isMain);
  return {
    files: files.length,
    main: main ? main.br : undefined,
    raw: files.reduce((t, f) => t + f.raw, 0),
    br: files.reduce((t, f) => t + f.br, 0),
  };
};
const wasm = { "/connexion": wasmOf(connexion), "la première page d'un administrateur": wasmOf(accueil) };
const mainModule = wasm["/connexion"].main;
console.log(`\nModule WASM principal : ${mainModule ?? "?"} octets brotli`);
for (const [page, w] of Object.entries(wasm)) {
  console.log(`WASM de ${page} (module principal et morceaux de l'écran) : ${w.br} octets brotli (${w.raw} bruts, ${w.files} fichiers)`);
}
console.log(`Premier chargement de /connexion : ${connexion.total.br} octets brotli`);

const failures = [];
const biggest = connexion.rows.slice(0, 5).map((f) => `${f.path} ${kb(f.br)} Kio`).join(", ");
if (budgetWasm !== undefined && (mainModule === undefined || mainModule > budgetWasm)) {
  failures.push(`le module WASM principal pèse ${mainModule ?? "?"} octets brotli, au-delà du budget de ${budgetWasm}`);
}
if (budgetPageWasm !== undefined) {
  for (const [page, w] of Object.entries(wasm)) {
    if (!w.files || w.br > budgetPageWasm) {
      const rows = (page === "/connexion" ? connexion : accueil).rows.filter((f) => f.path.endsWith(".wasm"));
      const files = rows.slice(0, 5).map((f) => `${f.path} ${kb(f.br)} Kio`).join(", ");
      failures.push(`le WASM du premier chargement de ${page} pèse ${w.br} octets brotli, au-delà du budget de ${budgetPageWasm} (${files || "aucun fichier"})`);
    }
  }
}
if (budgetFirstLoad !== undefined && connexion.total.br > budgetFirstLoad) {
  failures.push(`le premier chargement de /connexion pèse ${connexion.total.br} octets brotli, au-delà du budget de ${budgetFirstLoad} (les plus gros : ${biggest})`);
}
if (failures.length) {
  console.error(`\nBUDGET DÉPASSÉ : ${failures.join(" ; ")}.\nPour voir ce qui pèse dans le WASM : ./scripts/bench.sh --sizes (twiggy top).`);
  process.exit(1);
}
