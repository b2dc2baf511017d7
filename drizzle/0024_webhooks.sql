CREATE TABLE "webhook_approval_link_uses" (
	"nonce" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"webhook_id" uuid NOT NULL,
	"pipeline_event_id" bigint NOT NULL,
	"event_kind" text NOT NULL,
	"body" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"locked_until" timestamp with time zone,
	"last_response_status" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_deliveries_status_valid" CHECK ("webhook_deliveries"."status" in ('pending', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "webhook_delivery_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"delivery_id" uuid NOT NULL,
	"response_status" integer,
	"response_body" text,
	"error" text,
	"duration_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_event_cursors" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"last_event_id" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"url" text NOT NULL,
	"format" text NOT NULL,
	"event_kinds" text[] NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"listening_since" timestamp with time zone DEFAULT now() NOT NULL,
	"encrypted_secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "webhooks_format_valid" CHECK ("webhooks"."format" in ('generic', 'slack', 'teams'))
);
--> statement-breakpoint
ALTER TABLE "webhook_approval_link_uses" ADD CONSTRAINT "webhook_approval_link_uses_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_delivery_attempts" ADD CONSTRAINT "webhook_delivery_attempts_delivery_id_webhook_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."webhook_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_event_cursors" ADD CONSTRAINT "webhook_event_cursors_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_event_key" ON "webhook_deliveries" USING btree ("webhook_id","pipeline_event_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook_idx" ON "webhook_deliveries" USING btree ("webhook_id","created_at","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_delivery_attempts_delivery_idx" ON "webhook_delivery_attempts" USING btree ("delivery_id","created_at");--> statement-breakpoint
CREATE INDEX "webhooks_organization_idx" ON "webhooks" USING btree ("organization_id");--> statement-breakpoint
INSERT INTO "resource_limits" ("name", "value") VALUES ('ResourceLimitWebhooksPerOrganization', 25) ON CONFLICT ("name") DO NOTHING;--> statement-breakpoint
-- webhook:view (every role, like every :view) and webhook:manage (owner only) join the catalog.
-- Custom roles are left as their owners defined them. The arrays equal src/domain/roles/built-in.ts,
-- in catalog order.
UPDATE "roles" SET "permissions" = ARRAY['organization:view', 'organization:update', 'organization:delete', 'membership:view', 'membership:manage', 'team:view', 'team:manage', 'service_account:view', 'service_account:manage', 'api_key:manage', 'project:view', 'project:create', 'project:update', 'project:delete', 'environment:view', 'environment:manage', 'approval_rule:view', 'approval_rule:manage', 'vcs_provider:view', 'vcs_provider:manage', 'activity:view', 'pipeline_template:manage', 'pipeline:view', 'pipeline:execute', 'release:view', 'release:manage', 'release_lifecycle:view', 'release_lifecycle:manage', 'release:comment', 'approval:respond', 'agent:view', 'agent:manage', 'infrastructure:view', 'infrastructure:operate', 'webhook:view', 'webhook:manage']::text[] WHERE "id" = '00000000-0000-4000-8000-000000000001' AND "built_in";--> statement-breakpoint
UPDATE "roles" SET "permissions" = ARRAY['organization:view', 'membership:view', 'team:view', 'service_account:view', 'service_account:manage', 'project:view', 'project:update', 'environment:view', 'environment:manage', 'approval_rule:view', 'vcs_provider:view', 'activity:view', 'pipeline_template:manage', 'pipeline:view', 'pipeline:execute', 'release:view', 'release:manage', 'release_lifecycle:view', 'release_lifecycle:manage', 'release:comment', 'approval:respond', 'agent:view', 'infrastructure:view', 'infrastructure:operate', 'webhook:view']::text[] WHERE "id" = '00000000-0000-4000-8000-000000000002' AND "built_in";--> statement-breakpoint
UPDATE "roles" SET "permissions" = ARRAY['organization:view', 'membership:view', 'team:view', 'service_account:view', 'project:view', 'project:update', 'environment:view', 'approval_rule:view', 'vcs_provider:view', 'activity:view', 'pipeline_template:manage', 'pipeline:view', 'pipeline:execute', 'release:view', 'release_lifecycle:view', 'release:comment', 'agent:view', 'infrastructure:view', 'webhook:view']::text[] WHERE "id" = '00000000-0000-4000-8000-000000000003' AND "built_in";--> statement-breakpoint
UPDATE "roles" SET "permissions" = ARRAY['organization:view', 'membership:view', 'team:view', 'service_account:view', 'project:view', 'environment:view', 'approval_rule:view', 'vcs_provider:view', 'activity:view', 'pipeline:view', 'release:view', 'release_lifecycle:view', 'agent:view', 'infrastructure:view', 'webhook:view']::text[] WHERE "id" = '00000000-0000-4000-8000-000000000004' AND "built_in";
