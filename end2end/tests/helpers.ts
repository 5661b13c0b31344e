import { expect, Page, Browser } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import * as fs from "fs";

export const PASSWORD = "une phrase de passe solide";

/** A unique address per run so specs never collide. */
export function email(who: string): string {
  return `${who}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@exemple.fr`;
}

const consoles = new WeakMap<Page, string[]>();

/** Waits until the WASM has hydrated the page (clicks before are lost).
 * When it does not, the browser's console errors say why. */
export async function hydrated(page: Page) {
  if (!consoles.has(page)) {
    const errors: string[] = [];
    consoles.set(page, errors);
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(e.message));
    // Which file failed, for the message below (the console does not say).
    page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
    page.on("requestfailed", (r) => errors.push(`échec ${r.url()} : ${r.failure()?.errorText ?? ""}`));
  }
  try {
    await page.waitForSelector("body[data-hydrated]", { timeout: 30_000 });
  } catch (e) {
    throw new Error(`${page.url()} n'a pas été hydratée ; console : ${(consoles.get(page) ?? []).join(" | ")}\n${e}`);
  }
}

export async function visit(page: Page, path: string) {
  await page.goto(path);
  await hydrated(page);
}

async function axe(page: Page, name: string) {
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(summary, `axe violations on ${name}`).toEqual([]);
}

/** Runs axe-core on the page and fails on any violation, at the page's
 * width and on a phone (390 px, where the page itself must not scroll
 * sideways: wide tables scroll in their own box). Keeps a screenshot of
 * both for people to look at (`name.png`, `name-390.png`). */
export async function checkA11y(page: Page, name: string) {
  fs.mkdirSync("screenshots", { recursive: true });
  const size = page.viewportSize();
  if (size && size.width <= 400) {
    await axe(page, name);
    return;
  }
  await axe(page, name);
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(scroll, `${name}: the page scrolls sideways at 390 px`).toBeLessThanOrEqual(client);
    await axe(page, `${name}-390`);
  } finally {
    if (size) await page.setViewportSize(size);
  }
}

/** The first link of the newest mail to `to` whose subject contains `subject`. */
export async function mailLink(page: Page, to: string, subject: string): Promise<string> {
  await visit(page, `/dev/mailbox?a=${encodeURIComponent(to)}`);
  const mail = page.locator("article.mail", { hasText: subject }).first();
  await expect(mail).toBeVisible();
  const href = await mail.locator(".mail-body a").first().getAttribute("href");
  expect(href).toBeTruthy();
  return new URL(href!).pathname + new URL(href!).search;
}

export async function signUp(page: Page, who: { email: string; prenom: string; nom: string }, scan = false) {
  await visit(page, "/inscription");
  await page.locator("label[for=civilite-mme]").click();
  await page.getByLabel("Nom", { exact: true }).fill(who.nom);
  await page.getByLabel("Prénom").fill(who.prenom);
  await page.getByLabel("Adresse électronique Format attendu").fill(who.email);
  await page.getByLabel("Confirmation de l'adresse électronique").fill(who.email);
  await page.getByLabel("Mot de passe Au moins 12").fill(PASSWORD);
  await page.getByLabel("Confirmation du mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await expect(page.getByText("Un courriel vous a été envoyé")).toBeVisible();
  const link = await mailLink(page, who.email, "Validez votre adresse électronique");
  await visit(page, link);
  if (scan) await checkA11y(page, "validation-adresse");
  await page.getByRole("button", { name: "Valider mon adresse électronique" }).click();
  await expect(page.getByText("Votre adresse électronique est validée")).toBeVisible();
}

export async function logIn(page: Page, address: string, password = PASSWORD) {
  await visit(page, "/connexion");
  await page.getByLabel("Adresse électronique").fill(address);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("heading", { name: "Mes démarches" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Se déconnecter" })).toBeVisible();
}

/** A page in a browser context of its own (its own cookies). */
export async function person(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

/** "Mes structures": registers the organisation of `siret`; the caller
 * becomes its primary manager. */
export async function registerOrganisation(page: Page, siret: string) {
  await visit(page, "/structures");
  await page.getByLabel("SIRET 14 chiffres").fill(siret);
  await page.getByRole("button", { name: "Enregistrer la structure" }).click();
  await expect(page.getByText("vous en êtes le gestionnaire principal")).toBeVisible();
}
