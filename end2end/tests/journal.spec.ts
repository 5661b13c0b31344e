import { test, expect } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, signUp, visit, registerOrganisation } from "./helpers";

// "Journal" of a structure: its admin changes a unit, then reads who did
// what, in names, filters it and exports it for a spreadsheet.
test("an admin reads, filters and exports the journal of the structure", async ({ page }) => {
  const who = { email: email("journal"), prenom: "Jeanne", nom: "Journal" };
  await signUp(page, who);
  await logIn(page, who.email);
  await registerOrganisation(page, "85329037700268");

  await page.getByRole("link", { name: "Services", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Services de la structure" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Code").fill("ACCUEIL");
  await page.getByLabel("Libellé").fill("Accueil du public");
  await page.getByRole("button", { name: "Enregistrer le service" }).click();
  const unit = page.locator("tr.service", { hasText: "ACCUEIL" });
  await expect(unit).toContainText("Actif");
  await unit.getByRole("button", { name: "Désactiver le service ACCUEIL" }).click();
  await expect(unit).toContainText("Inactif");

  await visit(page, "/structures");
  await page.getByRole("link", { name: "Journal", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Journal", exact: true })).toBeVisible();
  await expect(page.getByText("SYNDICAT INTERCOMMUNAL DES EAUX DU LEON").first()).toBeVisible();
  await hydrated(page);
  const rows = page.locator("tr.evenement");
  await expect(rows).toHaveCount(3);
  const created = rows.filter({ hasText: "Création d'un service" });
  await expect(created).toContainText("Jeanne Journal");
  await expect(created).toContainText(who.email);
  await expect(created).toContainText("ACCUEIL — Accueil du public");
  await expect(created).toContainText("Libellé : Accueil du public");
  await expect(rows.filter({ hasText: "Enregistrement d'une structure" })).toContainText("Gestionnaire principal : Jeanne Journal");
  await checkA11y(page, "journal");

  // Filter on one action: only the deactivation, with its before → after.
  await page.getByLabel("Action", { exact: true }).selectOption({ label: "Désactivation d'un service" });
  await page.getByRole("button", { name: "Filtrer" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Actif : oui → non");
  await expect(page).toHaveURL(/action=service\.desactivation/);
  await checkA11y(page, "journal-filtre");

  // The export keeps the filters and opens in a French spreadsheet.
  const link = page.getByRole("link", { name: "Exporter en CSV" });
  const href = (await link.getAttribute("href"))!;
  expect(href).toMatch(/^\/exports\/journal\.csv\?organisation=\d+&action=service\.desactivation$/);
  const resp = await page.request.get(href);
  expect(resp.status()).toBe(200);
  const body = await resp.body();
  expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const text = body.subarray(3).toString("utf-8");
  expect(text.split("\r\n")[0]).toBe("Date;Acteur;Structure;Action;Cible;Avant;Après;IP");
  expect(text).toContain("Désactivation d'un service");
  expect(text).not.toContain("Création d'un service");

  // A period with no event says so.
  await page.getByLabel("Du", { exact: true }).fill("2020-01-01");
  await page.getByLabel("Au", { exact: true }).fill("2020-01-31");
  await page.getByRole("button", { name: "Filtrer" }).click();
  await expect(page.getByText("Aucun événement")).toBeVisible();
  await expect(rows).toHaveCount(0);
});
