CREATE TABLE "environment_protection_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"environment_pattern" text NOT NULL,
	"user_ids" uuid[] DEFAULT '{}' NOT NULL,
	"team_ids" uuid[] DEFAULT '{}' NOT NULL,
	"service_account_ids" uuid[] DEFAULT '{}' NOT NULL,
	"role_names" text[] DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "environment_protection_rules_pattern_format" CHECK ("environment_protection_rules"."environment_pattern" ~ '^[a-z0-9*?-]{1,64}$')
);
--> statement-breakpoint
CREATE TABLE "environments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "environments_name_format" CHECK ("environments"."name" ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$')
);
--> statement-breakpoint
CREATE TABLE "approval_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"approvals_required" integer NOT NULL,
	"user_ids" uuid[] DEFAULT '{}' NOT NULL,
	"team_ids" uuid[] DEFAULT '{}' NOT NULL,
	"service_account_ids" uuid[] DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "approval_rules_scope_name_key" UNIQUE NULLS NOT DISTINCT("organization_id","project_id","name"),
	CONSTRAINT "approval_rules_name_format" CHECK ("approval_rules"."name" ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
	CONSTRAINT "approval_rules_approvals_required_range" CHECK ("approval_rules"."approvals_required" between 1 and cardinality("approval_rules"."user_ids") + cardinality("approval_rules"."team_ids") + cardinality("approval_rules"."service_account_ids"))
);
--> statement-breakpoint
ALTER TABLE "environment_protection_rules" ADD CONSTRAINT "environment_protection_rules_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "environment_protection_rules" ADD CONSTRAINT "environment_protection_rules_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "environments" ADD CONSTRAINT "environments_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "environments" ADD CONSTRAINT "environments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_rules" ADD CONSTRAINT "approval_rules_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_rules" ADD CONSTRAINT "approval_rules_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "environment_protection_rules_project_pattern_key" ON "environment_protection_rules" USING btree ("project_id","environment_pattern");--> statement-breakpoint
CREATE UNIQUE INDEX "environments_project_live_name_key" ON "environments" USING btree ("project_id","name") WHERE "environments"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "environments_project_idx" ON "environments" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "approval_rules_project_idx" ON "approval_rules" USING btree ("project_id");
--> statement-breakpoint
-- seed: environments
-- Limits of the new aggregates (ResourceLimitEnvironmentsPerProject is seeded by 0002). Existing
-- values are never overwritten.
INSERT INTO "resource_limits" ("name", "value") VALUES
  ('ResourceLimitApprovalRulesPerOrganization', 100),
  ('ResourceLimitProtectionRulesPerProject', 100)
ON CONFLICT ("name") DO NOTHING;
