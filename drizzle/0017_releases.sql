CREATE TABLE "releases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"semantic_version" text NOT NULL,
	"pre_release" boolean NOT NULL,
	"notes" text DEFAULT '' NOT NULL,
	"due_date" timestamp with time zone,
	"due_notice" text,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sensitive_variables" text,
	"sensitive_variable_names" text[] DEFAULT '{}' NOT NULL,
	"pipeline_template_id" uuid,
	"environment_templates" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"lifecycle_id" uuid,
	"lifecycle" jsonb,
	"lifecycle_pipeline_id" uuid,
	"status" text DEFAULT 'CREATED' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "releases_project_version_key" UNIQUE("project_id","semantic_version"),
	CONSTRAINT "releases_automation" CHECK ("releases"."pipeline_template_id" is not null or "releases"."environment_templates" <> '{}'::jsonb)
);
--> statement-breakpoint
CREATE TABLE "release_participants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"release_id" uuid NOT NULL,
	"user_id" uuid,
	"team_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "release_participants_user_key" UNIQUE("release_id","user_id"),
	CONSTRAINT "release_participants_team_key" UNIQUE("release_id","team_id"),
	CONSTRAINT "release_participants_one_principal" CHECK (num_nonnulls("release_participants"."user_id", "release_participants"."team_id") = 1)
);
--> statement-breakpoint
CREATE TABLE "release_comments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"release_id" uuid NOT NULL,
	"parent_id" uuid,
	"author_kind" text NOT NULL,
	"author_id" uuid NOT NULL,
	"author_name" text NOT NULL,
	"text" text NOT NULL,
	"edited_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "release_assets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"release_id" uuid NOT NULL,
	"name" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"content_type" text NOT NULL,
	"object_key" text NOT NULL,
	"uploaded_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "release_assets_name_key" UNIQUE("release_id","name")
);
--> statement-breakpoint
CREATE TABLE "release_pipeline_templates" (
	"release_id" uuid NOT NULL,
	"pipeline_template_id" uuid NOT NULL,
	CONSTRAINT "release_pipeline_templates_release_id_pipeline_template_id_pk" PRIMARY KEY("release_id","pipeline_template_id")
);
--> statement-breakpoint
ALTER TABLE "releases" ADD CONSTRAINT "releases_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "releases" ADD CONSTRAINT "releases_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "releases" ADD CONSTRAINT "releases_pipeline_template_id_pipeline_templates_id_fk" FOREIGN KEY ("pipeline_template_id") REFERENCES "public"."pipeline_templates"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_participants" ADD CONSTRAINT "release_participants_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_participants" ADD CONSTRAINT "release_participants_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_participants" ADD CONSTRAINT "release_participants_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_comments" ADD CONSTRAINT "release_comments_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_comments" ADD CONSTRAINT "release_comments_parent_id_release_comments_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."release_comments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_assets" ADD CONSTRAINT "release_assets_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_pipeline_templates" ADD CONSTRAINT "release_pipeline_templates_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_pipeline_templates" ADD CONSTRAINT "release_pipeline_templates_pipeline_template_id_pipeline_templates_id_fk" FOREIGN KEY ("pipeline_template_id") REFERENCES "public"."pipeline_templates"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "releases_project_idx" ON "releases" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "releases_due_idx" ON "releases" USING btree ("due_date") WHERE due_date is not null and status in ('CREATED', 'IN_PROGRESS');--> statement-breakpoint
CREATE INDEX "release_comments_release_idx" ON "release_comments" USING btree ("release_id","parent_id","created_at");