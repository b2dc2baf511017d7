-- Default resource limits, one per limited resource (names follow the Phobos API's
-- ResourceLimit<Things>Per<Parent> convention). Generous enough not to get in the way; system
-- admins change them with the updateResourceLimit mutation. Existing values are never overwritten.
INSERT INTO "resource_limits" ("name", "value") VALUES
  ('ResourceLimitOrganizationsPerUser', 100),
  ('ResourceLimitMembersPerOrganization', 1000),
  ('ResourceLimitProjectsPerOrganization', 1000),
  ('ResourceLimitServiceAccountsPerOrganization', 100),
  ('ResourceLimitTrustPoliciesPerServiceAccount', 20),
  ('ResourceLimitAgentsPerOrganization', 100),
  ('ResourceLimitApiKeysPerUser', 50),
  ('ResourceLimitApiKeysPerServiceAccount', 20),
  ('ResourceLimitEnvironmentsPerProject', 100),
  ('ResourceLimitPipelineTemplatesPerProject', 1000),
  ('ResourceLimitReleasesPerProject', 10000)
ON CONFLICT ("name") DO NOTHING;
