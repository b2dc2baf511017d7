-- seed: teams
-- Default limits for teams (ResourceLimit<Things>Per<Parent>); existing values are never overwritten.
INSERT INTO "resource_limits" ("name", "value") VALUES
  ('ResourceLimitTeamsPerOrganization', 100),
  ('ResourceLimitMembersPerTeam', 1000)
ON CONFLICT ("name") DO NOTHING;
