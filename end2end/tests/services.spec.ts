import { test, expect } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, signUp, visit, registerOrganisation } from "./helpers";

// Chorus Pro "services" of a structure: create, modify, deactivate.
test("a manager creates, modifies and deactivates a unit", async ({ page }) => {
  const who = { email: email("services"), prenom: "Anne", nom: "Services" };
  await signUp(page, who);
  await logIn(page, who.email);
  await registerOrganisation(page, "31429110500901");
  await page.getByRole("link", { name: "Services", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Services de la structure" })).toBeVisible();
  await hydrated(page);

  await page.getByLabel("Code").fill("etat-civil");
  await page.getByLabel("Libellé").fill("État civil");
  await page.getByLabel("Numéro d'engagement obligatoire").check({ force: true });
  await page.getByRole("button", { name: "Enregistrer le service" }).click();
  const row = page.locator("tr.service", { hasText: "ETAT-CIVIL" });
  await expect(row).toContainText("État civil");
  await expect(row).toContainText("Oui");
  await expect(row).toContainText("Actif");

  // A second unit with the same code is refused next to the field.
  await page.getByLabel("Code").fill("ETAT-CIVIL");
  await page.getByLabel("Libellé").fill("Doublon");
  await page.getByRole("button", { name: "Enregistrer le service" }).click();
  await expect(page.locator("#champ-code-erreur")).toContainText("déjà utilisé");
  await checkA11y(page, "services-erreur");

  await row.getByRole("link", { name: "Modifier le service ETAT-CIVIL" }).click();
  await expect(page.getByRole("heading", { name: "Modifier le service" })).toBeVisible();
  await expect(page.getByLabel("Libellé")).toHaveValue("État civil");
  await hydrated(page);
  await page.getByLabel("Libellé").fill("État civil et élections");
  await page.getByRole("button", { name: "Enregistrer le service" }).click();
  await expect(row).toContainText("État civil et élections");

  await row.getByRole("button", { name: "Désactiver le service ETAT-CIVIL" }).click();
  await expect(row).toContainText("Inactif");
  await expect(row.getByRole("button", { name: "Activer le service ETAT-CIVIL" })).toBeVisible();
  await checkA11y(page, "services");
});
