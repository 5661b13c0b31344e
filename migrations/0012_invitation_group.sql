-- A responsable habilitations who « crée un utilisateur » puts them in one
-- of their groups. For an address that already has an account, the group
-- waits in the invitation and is joined when its owner accepts (the group
-- belongs to the structure of the invitation).
alter table membership_invitations
    add column group_id bigint,
    add foreign key (organisation_id, group_id) references user_groups (organisation_id, id);
