import { test, expect } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, signUp, visit, registerOrganisation } from "./helpers";

const SIRET = "83197857200129";
const HEADER = "Civilité;Nom;Prénom;Adresse mail;Téléphone;Poste;Date d'ouverture;Date de clôture;Code service";

// "Importer des utilisateurs": a file with one bad row is refused whole and
// names the line; the corrected file (saved by a French Excel: Windows-1252)
// is checked, then imported; the new agents are in the list and invited.
test("CSV import: a bad row writes nothing, the fixed file imports every row", async ({ page }) => {
  test.setTimeout(120_000);
  const admin = { email: email("import"), prenom: "Inès", nom: "Import" };
  await signUp(page, admin);
  await logIn(page, admin.email);
  await registerOrganisation(page, SIRET);
  await page.getByRole("link", { name: "Liste des agents" }).click();
  await expect(page.getByRole("heading", { name: "Liste des agents" })).toBeVisible();
  const org = page.url().match(/structures\/(\d+)\/agents/)![1];
  await page.getByRole("link", { name: "Importer des utilisateurs" }).click();
  await expect(page.getByRole("heading", { name: "Importer des utilisateurs" })).toBeVisible();
  await hydrated(page);

  const stamp = Date.now();
  const first = `zoe.faure.${stamp}@exemple.fr`;
  const second = `remi.benard.${stamp}@exemple.fr`;
  const bad = [
    HEADER,
    `Mme;Faure;Zoé;${first};01 23 45 67 89;sédentaire;;;`,
    `M;Bénard;Rémi;remi.benard.${stamp}@exemple;;itinérant;;;`,
  ].join("\r\n");
  const file = page.getByLabel("Fichier CSV des utilisateurs");
  await file.setInputFiles({ name: "agents.csv", mimeType: "text/csv", buffer: Buffer.from(bad, "utf-8") });
  await page.getByRole("button", { name: "Vérifier le fichier" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "1 ligne(s) en erreur" })).toBeVisible();
  const lines = page.locator("tr.ligne-import");
  await expect(lines).toHaveCount(2);
  const wrong = page.locator("tr.ligne-erreur");
  await expect(wrong).toHaveCount(1);
  await expect(wrong.locator("td").first()).toHaveText("3");
  await expect(page.getByRole("button", { name: /Importer les/ })).toHaveCount(0);
  await checkA11y(page, "import-erreur");

  // Nothing was written: the list is still empty of them.
  await visit(page, `/structures/${org}/agents`);
  await expect(page.locator("tr.agent", { hasText: first })).toHaveCount(0);

  // The corrected file, as Excel saves it in France (Windows-1252, ";").
  await visit(page, `/structures/${org}/import`);
  const fixed = bad.replace(`${stamp}@exemple;`, `${stamp}@exemple.fr;`);
  const latin1 = Buffer.from(fixed, "latin1");
  await page.getByLabel("Fichier CSV des utilisateurs").setInputFiles({ name: "agents.csv", mimeType: "text/csv", buffer: latin1 });
  await page.getByRole("button", { name: "Vérifier le fichier" }).click();
  await expect(page.getByText("Vérification terminée : 2 ligne(s) valide(s)")).toBeVisible();
  await expect(page.locator("tr.ligne-import", { hasText: "Bénard" })).toContainText("invitation");
  await checkA11y(page, "import-verification");
  await page.getByRole("button", { name: "Importer les 2 ligne(s)" }).click();
  await expect(page.getByText("Import terminé : 2 invitation(s) envoyée(s)")).toBeVisible();
  await checkA11y(page, "import-termine");

  await visit(page, `/structures/${org}/agents`);
  await expect(page.locator("tr.agent", { hasText: first })).toContainText("Zoé");
  await expect(page.locator("tr.agent", { hasText: second })).toContainText("Bénard");

  // Both were invited.
  await visit(page, `/dev/mailbox?a=${encodeURIComponent(second)}`);
  await expect(page.locator("article.mail", { hasText: "Votre compte Habilitations a été créé" })).toHaveCount(1);
});
