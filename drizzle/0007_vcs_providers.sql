CREATE TABLE "vcs_oauth_states" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"provider_id" uuid NOT NULL,
	"user_id" uuid,
	"service_account_id" uuid,
	"code_verifier" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vcs_oauth_states_one_initiator" CHECK (("vcs_oauth_states"."user_id" is null) <> ("vcs_oauth_states"."service_account_id" is null))
);
--> statement-breakpoint
CREATE TABLE "vcs_providers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"type" text NOT NULL,
	"url" text NOT NULL,
	"api_url" text NOT NULL,
	"auth_type" text NOT NULL,
	"oauth_client_id" text,
	"encrypted_oauth_client_secret" text,
	"encrypted_access_token" text,
	"encrypted_refresh_token" text,
	"access_token_expires_at" timestamp with time zone,
	"account_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "vcs_providers_name_format" CHECK ("vcs_providers"."name" ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
	CONSTRAINT "vcs_providers_type_valid" CHECK ("vcs_providers"."type" in ('github', 'gitlab')),
	CONSTRAINT "vcs_providers_auth_type_valid" CHECK ("vcs_providers"."auth_type" in ('personal_access_token', 'oauth')),
	CONSTRAINT "vcs_providers_oauth_client" CHECK (("vcs_providers"."auth_type" = 'oauth') = ("vcs_providers"."oauth_client_id" is not null and "vcs_providers"."encrypted_oauth_client_secret" is not null))
);
--> statement-breakpoint
ALTER TABLE "vcs_oauth_states" ADD CONSTRAINT "vcs_oauth_states_provider_id_vcs_providers_id_fk" FOREIGN KEY ("provider_id") REFERENCES "public"."vcs_providers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vcs_oauth_states" ADD CONSTRAINT "vcs_oauth_states_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vcs_oauth_states" ADD CONSTRAINT "vcs_oauth_states_service_account_id_service_accounts_id_fk" FOREIGN KEY ("service_account_id") REFERENCES "public"."service_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vcs_providers" ADD CONSTRAINT "vcs_providers_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vcs_providers" ADD CONSTRAINT "vcs_providers_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vcs_oauth_states_provider_idx" ON "vcs_oauth_states" USING btree ("provider_id");--> statement-breakpoint
CREATE UNIQUE INDEX "vcs_providers_organization_name_key" ON "vcs_providers" USING btree ("organization_id","name") WHERE "vcs_providers"."project_id" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "vcs_providers_project_name_key" ON "vcs_providers" USING btree ("project_id","name") WHERE "vcs_providers"."project_id" is not null;--> statement-breakpoint
CREATE INDEX "vcs_providers_organization_idx" ON "vcs_providers" USING btree ("organization_id");
--> statement-breakpoint
-- seed: vcs-providers
-- The default cap on VCS providers per organization (its own and its projects' together).
INSERT INTO "resource_limits" ("name", "value") VALUES ('ResourceLimitVCSProvidersPerOrganization', 100) ON CONFLICT ("name") DO NOTHING;
