import { test, expect } from "@playwright/test";
import { checkA11y, email, logIn, person, signUp, visit, registerOrganisation } from "./helpers";

const ILLE_ET_VILAINE = "55667651800369";

// A structure cannot attach someone who already has an account: it invites
// them, and the person accepts (or declines) in "Mes structures". Their
// fiche stays theirs: the structure sees it read-only.
test("an existing account joins a structure only by accepting its invitation", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const manager = { email: email("gestion-malo"), prenom: "Yann", nom: "Gestion" };
  const agent = { email: email("deja-inscrite"), prenom: "Élodie", nom: "Déjà" };
  await signUp(page, manager);
  await logIn(page, manager.email);
  await registerOrganisation(page, ILLE_ET_VILAINE);
  await page.getByRole("link", { name: "Liste des agents" }).first().click();
  // The screen is a lazy route: the address changes once its chunk is in.
  await page.waitForURL(/structures\/\d+\/agents/);
  const org = page.url().match(/structures\/(\d+)\/agents/)![1];

  const p = await person(browser);
  await signUp(p, agent);

  // The manager types the fiche of someone who already has an account: the
  // answer is the same as for a new address.
  await visit(page, `/structures/${org}/nouvel-agent`);
  await page.getByLabel("Nom", { exact: true }).fill("Autre");
  await page.getByLabel("Prénom").fill("Nom");
  await page.getByLabel("Adresse mail", { exact: true }).fill(agent.email);
  await page.getByLabel("Confirmer l'adresse mail").fill(agent.email);
  await page.getByRole("button", { name: "Valider" }).click();
  await expect(page.getByText(`Une invitation a été envoyée à ${agent.email.toLowerCase()}`)).toBeVisible();
  await checkA11y(page, "agent-invitation-envoyee");
  // Nothing is attached yet.
  await visit(page, `/structures/${org}/agents`);
  await expect(page.locator("tr.agent", { hasText: agent.email.toLowerCase() })).toHaveCount(0);

  // The person decides, signed in.
  await logIn(p, agent.email);
  await visit(p, "/structures");
  const invitation = p.locator("li.invitation-structure");
  await expect(invitation).toHaveCount(1);
  await expect(invitation).toContainText(`invitation de ${manager.prenom} ${manager.nom}`);
  await checkA11y(p, "mes-structures-invitation");
  await invitation.getByRole("button", { name: /Accepter de rejoindre/ }).click();
  await expect(p.getByText("Votre réponse a été enregistrée.")).toBeVisible();
  await expect(p.locator("li.invitation-structure")).toHaveCount(0);
  await expect(p.locator("li.structure")).toHaveCount(1);

  // Now a member; their fiche is read-only for the structure.
  await visit(page, `/structures/${org}/agents`);
  const row = page.locator("tr.agent", { hasText: agent.email.toLowerCase() });
  await expect(row).toContainText(agent.nom);
  await row.getByRole("link", { name: agent.nom, exact: true }).click();
  await expect(page.getByText("seul son rattachement à la vôtre peut être modifié ici")).toBeVisible();
  await expect(page.getByRole("button", { name: "Enregistrer les modifications" })).toHaveCount(0);
  await checkA11y(page, "agent-fiche-non-modifiable");
});
