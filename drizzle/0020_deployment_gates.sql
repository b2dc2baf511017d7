CREATE TABLE "change_windows" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid,
	"environment_id" uuid,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"recurrence" text NOT NULL,
	"days_of_week" integer[] DEFAULT '{}' NOT NULL,
	"start_time" text,
	"end_time" text,
	"time_zone" text,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "change_windows_scope" CHECK (("change_windows"."project_id" is null) = ("change_windows"."environment_id" is null)),
	CONSTRAINT "change_windows_shape" CHECK (case "change_windows"."recurrence" when 'WEEKLY' then "change_windows"."start_time" is not null and "change_windows"."end_time" is not null and "change_windows"."time_zone" is not null and cardinality("change_windows"."days_of_week") > 0 else "change_windows"."starts_at" is not null and "change_windows"."ends_at" > "change_windows"."starts_at" end)
);
--> statement-breakpoint
CREATE TABLE "deployment_stops" (
	"organization_id" uuid PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"stopped_by" text NOT NULL,
	"stopped_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "environment_promotion_pauses" (
	"project_id" uuid NOT NULL,
	"environment_name" text NOT NULL,
	"reason" text NOT NULL,
	"paused_by" text NOT NULL,
	"paused_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "environment_promotion_pauses_project_id_environment_name_pk" PRIMARY KEY("project_id","environment_name")
);
--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "hold_reason" text;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "queued_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "queue_front" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "hold_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "change_windows" ADD CONSTRAINT "change_windows_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_windows" ADD CONSTRAINT "change_windows_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_windows" ADD CONSTRAINT "change_windows_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_stops" ADD CONSTRAINT "deployment_stops_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "environment_promotion_pauses" ADD CONSTRAINT "environment_promotion_pauses_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "change_windows_organization_idx" ON "change_windows" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "change_windows_environment_idx" ON "change_windows" USING btree ("environment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pipelines_one_active_deployment_key" ON "pipelines" USING btree ("project_id","environment_name") WHERE "pipelines"."type" = 'DEPLOYMENT' and "pipelines"."status" in ('RUNNING', 'CANCELING');--> statement-breakpoint
CREATE INDEX "pipelines_deployment_queue_idx" ON "pipelines" USING btree ("project_id","environment_name") WHERE "pipelines"."type" = 'DEPLOYMENT' and "pipelines"."status" = 'WAITING';