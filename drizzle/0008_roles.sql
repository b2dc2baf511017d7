CREATE TABLE "roles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"permissions" text[] DEFAULT '{}'::text[] NOT NULL,
	"built_in" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "roles_name_format" CHECK ("roles"."name" ~ '^[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?$')
);
--> statement-breakpoint
ALTER TABLE "memberships" DROP CONSTRAINT "memberships_member_scope_key";--> statement-breakpoint
ALTER TABLE "memberships" DROP CONSTRAINT "memberships_role_valid";--> statement-breakpoint
ALTER TABLE "memberships" DROP CONSTRAINT "memberships_one_member";--> statement-breakpoint
ALTER TABLE "memberships" ALTER COLUMN "role" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "team_id" uuid;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "role_id" uuid;--> statement-breakpoint
CREATE UNIQUE INDEX "roles_name_key" ON "roles" USING btree ("name");--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "memberships_team_idx" ON "memberships" USING btree ("team_id");--> statement-breakpoint
CREATE INDEX "memberships_role_idx" ON "memberships" USING btree ("role_id");--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_member_scope_key" UNIQUE NULLS NOT DISTINCT("organization_id","project_id","user_id","service_account_id","team_id");--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_one_member" CHECK (num_nonnulls("memberships"."user_id", "memberships"."service_account_id", "memberships"."team_id") = 1);--> statement-breakpoint
-- The built-in roles, with the fixed ids the code knows them by (src/domain/roles/built-in.ts; a
-- test checks these rows still equal those definitions). Seeded here, not at the end, because the
-- existing memberships move onto them before role_id becomes NOT NULL.
INSERT INTO "roles" ("id", "name", "description", "permissions", "built_in") VALUES
  ('00000000-0000-4000-8000-000000000001', 'owner', 'Everything, including members, teams, agents, environments, approval rules and the organization itself.', ARRAY['organization:view', 'organization:update', 'organization:delete', 'membership:view', 'membership:manage', 'team:view', 'team:manage', 'service_account:view', 'service_account:manage', 'api_key:manage', 'project:view', 'project:create', 'project:update', 'project:delete', 'environment:view', 'environment:manage', 'approval_rule:view', 'approval_rule:manage', 'vcs_provider:view', 'vcs_provider:manage', 'activity:view', 'pipeline_template:manage', 'pipeline:execute', 'release:view', 'release:manage', 'approval:respond', 'agent:view', 'agent:manage']::text[], true),
  ('00000000-0000-4000-8000-000000000002', 'release_manager', 'Releases, pipelines, templates, environments and their protection rules, service accounts; responds to approvals.', ARRAY['organization:view', 'membership:view', 'team:view', 'service_account:view', 'service_account:manage', 'project:view', 'project:update', 'environment:view', 'environment:manage', 'approval_rule:view', 'vcs_provider:view', 'activity:view', 'pipeline_template:manage', 'pipeline:execute', 'release:view', 'release:manage', 'approval:respond', 'agent:view']::text[], true),
  ('00000000-0000-4000-8000-000000000003', 'developer', 'Views everything, edits projects and pipeline templates, runs pipelines.', ARRAY['organization:view', 'membership:view', 'team:view', 'service_account:view', 'project:view', 'project:update', 'environment:view', 'approval_rule:view', 'vcs_provider:view', 'activity:view', 'pipeline_template:manage', 'pipeline:execute', 'release:view', 'agent:view']::text[], true),
  ('00000000-0000-4000-8000-000000000004', 'viewer', 'Views everything, changes nothing.', ARRAY['organization:view', 'membership:view', 'team:view', 'service_account:view', 'project:view', 'environment:view', 'approval_rule:view', 'vcs_provider:view', 'activity:view', 'release:view', 'agent:view']::text[], true)
ON CONFLICT ("id") DO NOTHING;--> statement-breakpoint
-- 'deployer' is gone: its holders become developers, who may now run pipelines.
UPDATE "memberships" SET "role_id" = CASE "role"
  WHEN 'owner' THEN '00000000-0000-4000-8000-000000000001'::uuid
  WHEN 'release_manager' THEN '00000000-0000-4000-8000-000000000002'::uuid
  WHEN 'deployer' THEN '00000000-0000-4000-8000-000000000003'::uuid
  WHEN 'developer' THEN '00000000-0000-4000-8000-000000000003'::uuid
  ELSE '00000000-0000-4000-8000-000000000004'::uuid
END;--> statement-breakpoint
ALTER TABLE "memberships" ALTER COLUMN "role_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" DROP COLUMN "role";
