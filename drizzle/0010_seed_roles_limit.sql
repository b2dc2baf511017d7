-- seed: roles
-- The limit createRole checks (src/domain/roles/service.ts); without a row it would not apply. It
-- counts every role, the four built-in ones included. Existing values are never overwritten.
INSERT INTO "resource_limits" ("name", "value") VALUES
  ('ResourceLimitRolesPerInstallation', 100)
ON CONFLICT ("name") DO NOTHING;
