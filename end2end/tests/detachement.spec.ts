import { test, expect, Page } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, signUp, visit, registerOrganisation } from "./helpers";

const LA_POSTE = "35600000000048";

async function api(page: Page, endpoint: string, form: Record<string, string>) {
  const resp = await page.request.post(`/api/${endpoint}`, { form, headers: { accept: "application/json" } });
  expect(resp.ok(), `${endpoint}: ${await resp.text()}`).toBeTruthy();
  return resp.json();
}

// « Détacher » (issue 8, points 1 and 7): the safe choice is selected, a
// missing motif is said in French next to the field, and right after
// « Du service » the page shows the person at structure level.
test("detaching from the service: safe default, French motif error, page up to date", async ({ page }) => {
  test.setTimeout(120_000);
  const manager = { email: email("gestion-poste"), prenom: "Nadia", nom: "Poste" };
  await signUp(page, manager);
  await logIn(page, manager.email);
  await registerOrganisation(page, LA_POSTE);
  await page.getByRole("link", { name: "Liste des agents" }).first().click();
  // The screen is a lazy route: the address changes once its chunk is in.
  await page.waitForURL(/structures\/\d+\/agents/);
  const org = page.url().match(/structures\/(\d+)\/agents/)![1];
  const unit = await api(page, "save_unit", { organisation_id: org, code: "FACT", libelle: "Facturation" });
  const agentEmail = email("agent-fact");
  await api(page, "create_agent", {
    organisation_id: org, civilite: "M", nom: "Service", prenom: "Sam",
    email: agentEmail, email_confirmation: agentEmail, unit_id: String(unit),
  });
  const found = await api(page, "list_agents", { organisation_id: org, q: agentEmail });
  const row = found.rows.find((r: any) => r.email === agentEmail.toLowerCase());
  expect(row, JSON.stringify(found)).toBeTruthy();

  await visit(page, `/structures/${org}/agents/${row.id}`);
  await expect(page.getByLabel("Niveau de rattachement")).toHaveValue(String(unit));
  // The safe choice (leave the service, stay in the structure) is selected.
  await expect(page.getByLabel("Du service (elle reste rattachée à la structure)")).toBeChecked();
  await expect(page.getByLabel("De la structure (ses habilitations prennent fin)")).not.toBeChecked();
  // No motif: a French message next to the field, nothing changes.
  await page.getByRole("button", { name: "Détacher", exact: true }).click();
  await expect(page.locator("#champ-commentaire-erreur")).toContainText("Indiquez le motif du détachement");
  await expect(page.getByLabel("Niveau de rattachement")).toHaveValue(String(unit));
  await checkA11y(page, "detachement-motif-manquant");
  // With a motif: the page shows the new level at once, without a reload.
  await page.getByLabel("Motif (obligatoire)").fill("Changement d'affectation");
  await page.getByRole("button", { name: "Détacher", exact: true }).click();
  await expect(page.getByText("La personne a été détachée.")).toBeVisible();
  await expect(page.getByLabel("Niveau de rattachement")).toHaveValue("0");
  await expect(page.getByLabel("Du service (elle reste rattachée à la structure)")).toHaveCount(0);
  await checkA11y(page, "detachement-du-service");
  await page.setViewportSize({ width: 390, height: 844 });
  await hydrated(page);
  await checkA11y(page, "detachement-du-service-390");
  // The journal names the service left (issue 8, point 4).
  await page.setViewportSize({ width: 1280, height: 900 });
  await visit(page, `/structures/${org}/journal`);
  const left = page.locator("tr.evenement", { hasText: "Détachement du service FACT — Facturation" });
  await expect(left).toHaveCount(1);
  await expect(left).toContainText("Commentaire : Changement d'affectation");
});
