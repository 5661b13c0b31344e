import { test, expect } from "@playwright/test";
import { checkA11y, logIn, visit } from "./helpers";

// Runs after every other spec (project "journal", playwright.config.ts):
// the operator walks the whole platform's journal, action by action, and
// every event the suite wrote must read in French words, never in ids or
// in the keys the code records (issue 8, point 4).
const OPERATOR = process.env.HAB_OPERATOR_EMAIL ?? "operateur@e2e.habilitations.test";

// Fields whose value is a number (a count, a SIRET, a telephone), where a
// bare number is the right answer.
const NUMBERS = new Set([
  "SIRET", "Téléphone",
  "Lignes", "Créations", "Rattachements", "Invitations", "Mises à jour",
  "Nombre d'administrateurs autorisés", "Habilitations closes",
]);
// Codes of the database that must never be shown as they are.
const CODES = /^(pending|accepted|refused|cancelled|expired|primary_manager|org_admin|sedentaire|itinerant|partie|toutes|chacune|M|Mme|true|false|null)$/;

test("every journal entry of the suite reads in French", async ({ page }) => {
  test.setTimeout(240_000);
  await logIn(page, OPERATOR);
  await visit(page, "/operateur/journal");
  const actions = await page.locator("#filtre-action option").evaluateAll((opts) =>
    opts.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent ?? "" })).filter((o) => o.value),
  );
  expect(actions.length).toBeGreaterThan(20);
  const problems: string[] = [];
  const seen: string[] = [];
  for (const action of actions) {
    // A label is French words, not a code.
    if (/[a-z]+[._][a-z]/.test(action.label)) problems.push(`libellé d'action brut : ${action.label}`);
    await visit(page, `/operateur/journal?action=${encodeURIComponent(action.value)}`);
    await expect(page.getByRole("status").filter({ hasText: /événement/ })).toBeVisible();
    const rows = await page.locator("tr.evenement").evaluateAll((trs) =>
      trs.map((tr) => {
        const cells = [...tr.querySelectorAll(":scope > td")];
        return {
          action: cells[3]?.textContent ?? "",
          cible: cells[4]?.textContent ?? "",
          changes: [...(cells[5]?.querySelectorAll("li") ?? [])].map((li) => li.textContent ?? ""),
        };
      }),
    );
    if (rows.length > 0) seen.push(`${action.label} (${rows.length})`);
    for (const r of rows) {
      const where = `${action.label} — ${r.action} — ${r.cible}`;
      if (/[a-z]+[._][a-z]/.test(r.action)) problems.push(`${where} : action brute`);
      if (/^\s*\d+\s*$/.test(r.cible) || r.cible.trim() === "") problems.push(`${where} : cible sans nom « ${r.cible} »`);
      for (const line of r.changes) {
        const [field, ...rest] = line.split(" : ");
        const value = rest.join(" : ");
        if (!/^[A-ZÉÈÀÂÎÔÛÇ]/.test(field) || field.includes("_")) problems.push(`${where} : clé sans libellé « ${line} »`);
        for (const side of value.split(" → ")) {
          const v = side.trim();
          if (/^\d+$/.test(v) && !NUMBERS.has(field)) problems.push(`${where} : identifiant brut « ${line} »`);
          if (CODES.test(v) || /^[a-z]+_[a-z_]+$/.test(v)) problems.push(`${where} : valeur codée « ${line} »`);
        }
      }
    }
  }
  console.log(`Actions présentes dans le journal : ${seen.length}/${actions.length}\n  ${seen.join("\n  ")}`);
  expect(problems, problems.join("\n")).toEqual([]);
  // The suite exercises most of the product: most actions have entries.
  expect(seen.length, seen.join(", ")).toBeGreaterThanOrEqual(20);
  await visit(page, "/operateur/journal");
  await checkA11y(page, "journal-plateforme-1280");
  await page.setViewportSize({ width: 390, height: 844 });
  await checkA11y(page, "journal-plateforme-390");
});
