CREATE TABLE "release_lifecycles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid,
	"name" text NOT NULL,
	"versioned" boolean NOT NULL,
	"semantic_version" text,
	"latest" boolean DEFAULT false NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"object_key" text NOT NULL,
	"compiled" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "release_lifecycles_name_format" CHECK ("release_lifecycles"."name" ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
	CONSTRAINT "release_lifecycles_version_when_versioned" CHECK ("release_lifecycles"."versioned" = ("release_lifecycles"."semantic_version" is not null))
);
--> statement-breakpoint
ALTER TABLE "release_lifecycles" ADD CONSTRAINT "release_lifecycles_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_lifecycles" ADD CONSTRAINT "release_lifecycles_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "release_lifecycles_organization_version_key" ON "release_lifecycles" USING btree ("organization_id","name","semantic_version") WHERE project_id is null and semantic_version is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "release_lifecycles_project_version_key" ON "release_lifecycles" USING btree ("project_id","name","semantic_version") WHERE project_id is not null and semantic_version is not null;--> statement-breakpoint
CREATE INDEX "release_lifecycles_organization_idx" ON "release_lifecycles" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE INDEX "release_lifecycles_project_idx" ON "release_lifecycles" USING btree ("project_id","created_at");